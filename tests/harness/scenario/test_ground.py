"""Stable-ground surveys rendered from a tiny synthetic ground (``geowarn.harness.scenario.ground``)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import rasterio

from geowarn.errors import ConfigError
from geowarn.harness.scenario.ground import Ground, grounds, render_ground_surveys


def _ground(valid_cols: int = 96) -> Ground:
    rng = np.random.default_rng(5)
    image = cv2.GaussianBlur(rng.integers(60, 200, (96, 96, 3)).astype(np.uint8), (0, 0), 1.0)
    valid = np.zeros((96, 96), bool)
    valid[:, :valid_cols] = True
    return Ground("synthetic", image, valid, 0.02)


def _render(ground: Ground, folder: Path, seed: int = 0) -> list:  # type: ignore[type-arg]
    return render_ground_surveys(
        ground,
        np.random.default_rng(seed),
        folder,
        crs="EPSG:32633",
        origin_m=(500000.0, 5100000.0),
        start=dt.date(2026, 5, 1),
        n_surveys=3,
        interval_days=7,
        max_offset_m=0.2,
    )


def test_surveys_move_relight_and_recompress_the_same_ground(tmp_path: Path) -> None:
    records = _render(_ground(), tmp_path)
    assert [r.date for r in records] == [dt.date(2026, 5, 1), dt.date(2026, 5, 8), dt.date(2026, 5, 15)]
    assert all(not r.cracks and r.registrable and math.hypot(*r.gnss_offset_m) <= 0.2 for r in records)
    assert records[0].expected_registration_to_previous_m is None
    ox, oy = records[1].gnss_offset_m
    assert records[2].expected_registration_to_previous_m == pytest.approx(
        (ox - records[2].gnss_offset_m[0], oy - records[2].gnss_offset_m[1])
    )
    pixels = []
    for r in records:
        with rasterio.open(tmp_path / r.file) as src:
            assert src.nodata is None and src.res == (0.02, 0.02)
            pixels.append(src.read())
        with rasterio.open(tmp_path / r.truth_mask) as src:
            assert not src.read().any()
    assert not np.array_equal(pixels[0], pixels[1])
    again = tmp_path / "again"
    again.mkdir()
    _render(_ground(), again)
    with rasterio.open(again / records[1].file) as src:
        assert np.array_equal(src.read(), pixels[1])  # the same seed draws the same surveys


def test_ground_without_data_stays_nodata(tmp_path: Path) -> None:
    records = _render(_ground(valid_cols=60), tmp_path)
    with rasterio.open(tmp_path / records[0].file) as src:
        assert src.nodata == 0
        seen = src.dataset_mask() > 0
    assert seen[:, :50].all() and not seen[:, 70:].any()


def test_unknown_kind_and_missing_data_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="stable-ground"):
        grounds(tmp_path, "stable-rock")
    with pytest.raises(ConfigError, match=r"australia\.tif"):
        grounds(tmp_path, "stable-scrub")
    with pytest.raises(ConfigError, match="natural/no-crack"):
        grounds(tmp_path, "stable-ground")
