"""Dark-line contrast read from the imagery along a centreline."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from geowarn.tracking.line_contrast import relative_contrast, unit_normals
from tests.conftest import write_geotiff

GSD = 0.01
ORIGIN = (500000.0, 5200000.0)


def line_image(path: Path, ground: float, line: float, gain: float = 1.0) -> Path:
    """Seeded grainy ground with a 3-px dark horizontal line at row 50, columns 20-80."""
    rng = np.random.default_rng(0)
    grey = ground + rng.normal(0.0, 8.0, (100, 100))
    grey[49:52, 20:81] = line
    rgb = np.clip(gain * grey, 0, 255).astype(np.uint8)[None].repeat(3, axis=0)
    return write_geotiff(path, rgb, transform=from_origin(*ORIGIN, GSD, GSD))


def points(cols: np.ndarray, row: float, frame: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Site-frame points at pixel centres of ``cols`` on ``row`` (site = image + frame)."""
    return np.column_stack(
        [ORIGIN[0] + (cols + 0.5) * GSD + frame[0], np.full(len(cols), ORIGIN[1] - (row + 0.5) * GSD + frame[1])]
    )


def test_contrast_is_high_on_the_line_and_low_beside_it_whatever_the_light(tmp_path: Path) -> None:
    path = line_image(tmp_path / "a.tif", 180.0, 60.0)
    on, off = points(np.arange(30, 70, 2.0), 50), points(np.arange(30, 70, 2.0), 20)
    normals = unit_normals(on)
    assert np.allclose(np.abs(normals[:, 1]), 1.0)
    with rasterio.open(path) as src:
        line = relative_contrast(src, (0.0, 0.0), on, normals, smooth=5)
        ground = relative_contrast(src, (0.0, 0.0), off, normals, smooth=5)
    assert np.median(line) == pytest.approx((180 - 60) / 180, abs=0.1)
    assert np.all(np.abs(ground) < 0.12)
    darker = line_image(tmp_path / "b.tif", 180.0, 60.0, gain=0.6)
    with rasterio.open(darker) as src:
        assert np.median(relative_contrast(src, (0.0, 0.0), on, normals, 5)) == pytest.approx(np.median(line), abs=0.05)


def test_frame_shift_is_applied_and_points_outside_are_nan(tmp_path: Path) -> None:
    path = line_image(tmp_path / "a.tif", 180.0, 60.0)
    frame = (0.23, -0.11)
    on = points(np.arange(30, 70, 2.0), 50, frame)
    far = points(np.array([300.0, 310.0]), 50)
    with rasterio.open(path) as src:
        assert np.median(relative_contrast(src, frame, on, unit_normals(on))) > 0.5
        assert np.median(relative_contrast(src, (0.0, 0.0), on, unit_normals(on))) < 0.12
        assert np.isnan(relative_contrast(src, (0.0, 0.0), far, unit_normals(far))).all()
