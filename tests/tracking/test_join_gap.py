"""The evidence read across the gap before a piece is joined to a crack tip."""

import logging
from pathlib import Path

import numpy as np
import pytest
from rasterio.transform import from_origin
from shapely.geometry import Point

from geowarn.tracking.join_gap import GapEvidence
from tests.conftest import write_geotiff

GSD = 0.01
ORIGIN = (500000.0, 5200000.0)
FRAME = (0.07, -0.12)


def two_cracks(path: Path) -> Path:
    """Seeded grainy ground; a dark 3-px line at row 50 over columns 10-45, faint over 45-55, dark over 55-90;
    and at row 80 two dark lines, columns 10-45 and 60-90, with intact ground between them."""
    rng = np.random.default_rng(1)
    grey = 170.0 + rng.normal(0.0, 8.0, (100, 100))
    grey[49:52, 10:91] = 60.0
    grey[49:52, 45:56] = 130.0  # the fainter stretch the segmenter missed
    grey[79:82, 10:46] = 60.0
    grey[79:82, 60:91] = 60.0
    rgb = np.clip(grey, 0, 255).astype(np.uint8)[None].repeat(3, axis=0)
    return write_geotiff(path, rgb, transform=from_origin(*ORIGIN, GSD, GSD))


def probability(path: Path, gap_prob: float) -> Path:
    """Crack probability (x 255) of ``two_cracks``: 0.9 on the dark lines, ``gap_prob`` on the faint stretch."""
    prob = np.zeros((100, 100))
    prob[50, 10:91] = 0.9
    prob[50, 45:56] = gap_prob
    prob[80, 10:46] = prob[80, 60:91] = 0.9
    return write_geotiff(path, np.round(prob * 255).astype(np.uint8)[None], transform=from_origin(*ORIGIN, GSD, GSD))


def at(col: float, row: float, frame: tuple[float, float] = FRAME) -> Point:
    return Point(ORIGIN[0] + (col + 0.5) * GSD + frame[0], ORIGIN[1] - (row + 0.5) * GSD + frame[1])


def evidence(image: Path, prob: Path | None, frame: tuple[float, float] = FRAME, **needs: float) -> GapEvidence:
    kwargs = {"min_contrast": 0.06, "min_probability": 0.35, "radius_px": 2.0} | needs
    return GapEvidence(image, prob, frame, 0.5 * GSD, **kwargs)  # type: ignore[arg-type]


FAINT_GAP, INTACT_GAP = (at(44, 50), at(56, 50)), (at(45, 80), at(59, 80))


def test_the_imagery_shows_a_faint_line_across_the_gap_and_none_across_intact_ground(tmp_path: Path) -> None:
    image = two_cracks(tmp_path / "s.tif")
    with evidence(image, None) as check:
        faint, intact = check.contrast(*FAINT_GAP), check.contrast(*INTACT_GAP)
        assert faint is not None and faint == pytest.approx((170 - 130) / 170, abs=0.06)
        assert intact is not None and abs(intact) < 0.05
        assert check(*FAINT_GAP) and not check(*INTACT_GAP)
    with evidence(image, None, frame=(0.0, 0.0)) as unshifted:  # the frame matters
        assert not unshifted(*FAINT_GAP)


def test_the_segmenter_probability_across_the_gap_is_evidence_too(tmp_path: Path) -> None:
    image = two_cracks(tmp_path / "s.tif")
    prob = probability(tmp_path / "p.tif", gap_prob=0.45)
    with evidence(image, prob, min_contrast=0.5) as check:  # the faint line alone no longer suffices
        assert check.probability(*FAINT_GAP) == pytest.approx(0.45, abs=0.01)
        assert check.probability(*INTACT_GAP) == pytest.approx(0.0)
        assert check(*FAINT_GAP) and not check(*INTACT_GAP)
    low = probability(tmp_path / "low.tif", gap_prob=0.2)
    with evidence(image, low, min_contrast=0.5) as check:
        assert not check(*FAINT_GAP)
    with evidence(image, low) as check:  # either kind of evidence is enough
        assert check(*FAINT_GAP)


def test_without_readable_evidence_geometry_decides(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="geowarn.tracking.join_gap"),
        evidence(tmp_path / "gone.tif", tmp_path / "nor.tif") as check,
    ):
        assert check(*INTACT_GAP) and check.contrast(*INTACT_GAP) is None and check.probability(*INTACT_GAP) is None
    assert "gone.tif, unreadable" in caplog.text and "nor.tif, unreadable" in caplog.text
    image, prob = two_cracks(tmp_path / "s.tif"), probability(tmp_path / "p.tif", 0.45)
    with evidence(image, prob) as check:  # a gap off the rasters: nothing to read
        off = (at(300, 300), at(310, 300))
        assert check.contrast(*off) is None and check.probability(*off) is None and check(*off)
    with evidence(image, prob, min_contrast=0.0, min_probability=0.0) as off_switch:
        assert off_switch(*INTACT_GAP)
