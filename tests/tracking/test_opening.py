"""Crack opening from the ground on both sides of the crack (``geowarn.tracking.opening``)."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import rasterio
from affine import Affine
from numpy.typing import NDArray
from shapely.geometry import LineString

from geowarn.tracking.opening import OpeningMeasure, measure_opening, pair_opening

GSD = 0.02
SIZE = 200
CRACK_COL = 100


def _ground(seed: int) -> NDArray[np.float64]:
    """Textured ground (soil-like blobs a few pixels across), grey levels about 80-170."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (SIZE, SIZE + 40)), (0, 0), 1.5)
    return np.asarray(125 + 45 * noise / noise.std(), np.float64)


def _survey(ground: NDArray[np.float64], opening_px: int, gain: float = 1.0) -> NDArray[np.uint8]:
    """A vertical crack 4 px wide at ``CRACK_COL``; the ground east of it moved ``opening_px`` east."""
    image = ground[:, 20 : 20 + SIZE].copy()
    east = CRACK_COL + 2 + opening_px
    image[:, east:] = ground[:, 20 + CRACK_COL + 2 : 20 + CRACK_COL + 2 + SIZE - east]
    image[:, CRACK_COL - 2 : east] = 35.0
    return np.clip(image * gain, 0, 255).astype(np.uint8)


def _write(path: Path, gray: NDArray[np.uint8]) -> Path:
    profile = {
        "driver": "GTiff",
        "width": SIZE,
        "height": SIZE,
        "count": 3,
        "dtype": "uint8",
        "crs": "EPSG:32633",
        "transform": Affine(GSD, 0, 500000.0, 0, -GSD, 5100000.0),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.stack([gray] * 3))
    return path


def _opening(tmp_path: Path, before: NDArray[np.uint8], after: NDArray[np.uint8]) -> OpeningMeasure:
    x = 500000.0 + (CRACK_COL + 0.5) * GSD
    line = LineString([(x, 5100000.0 - 20 * GSD), (x, 5100000.0 - 180 * GSD)])
    with (
        rasterio.open(_write(tmp_path / "a.tif", before)) as a,
        rasterio.open(_write(tmp_path / "b.tif", after)) as b,
    ):
        return measure_opening(a, (0.0, 0.0), b, (0.0, 0.0), line, 4 * GSD)


def test_sides_moving_apart_are_an_opening(tmp_path: Path) -> None:
    ground = _ground(1)
    m = _opening(tmp_path, _survey(ground, 0), _survey(ground, 3, gain=0.8))
    assert m.measured >= 0.8 * m.stations
    assert m.delta_m == pytest.approx(3 * GSD, abs=0.3 * GSD)
    assert abs(m.delta_m) > 2 * m.unc_m


def test_darker_survey_of_a_stable_crack_is_no_opening(tmp_path: Path) -> None:
    ground = _ground(2)
    after = cv2.GaussianBlur(_survey(ground, 0, gain=0.75), (0, 0), 0.6)
    m = _opening(tmp_path, _survey(ground, 0), after)
    assert abs(m.delta_m) < 0.3 * GSD
    assert abs(m.delta_m) <= 2 * m.unc_m + 0.2 * GSD


def test_textureless_ground_is_not_measured(tmp_path: Path) -> None:
    flat = np.full((SIZE, SIZE + 40), 120.0)
    m = _opening(tmp_path, _survey(flat, 0), _survey(flat, 3))
    assert m.measured == 0 and math.isnan(m.delta_m)


def test_pair_common_mode_and_floor() -> None:
    measures = [OpeningMeasure(v, 0.001, 10, 10) for v in (0.010, 0.012, 0.008, 0.011, 0.009, 0.05)]
    pair = pair_opening([*measures, OpeningMeasure(math.nan, math.nan, 10, 0)], min_tracks=5)
    assert pair.n_tracks == 6
    assert pair.common_mode_m == pytest.approx(0.0105)
    assert 0.0 < pair.floor_m < 0.005
    assert pair_opening(measures[:3], min_tracks=5).common_mode_m == 0.0


def test_openings_below_the_level_of_detection_are_not_significant() -> None:
    from geowarn.tracking.opening import PairOpening, opening_change

    measure = OpeningMeasure(0.012, 0.002, 6, 6)
    pair = PairOpening(0.0, 0.0, 0)
    change = opening_change(measure, pair, 7.0, 2.0)
    assert change is not None and change.significant
    below = opening_change(measure, pair, 7.0, 2.0, detection_m=0.02)
    assert below is not None and not below.significant and below.rate_mm_day == pytest.approx(12 / 7)
    assert opening_change(OpeningMeasure(math.nan, math.nan, 6, 1), pair, 7.0, 2.0) is None
