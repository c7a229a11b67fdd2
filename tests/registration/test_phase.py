from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from geowarn.io.raster import open_orthomosaic
from geowarn.registration.coregister import MIN_SIGNIFICANCE
from geowarn.registration.phase import normalise, phase_correlate, taper
from geowarn.registration.sampling import Grid, read_on_grid

from .conftest import textured_rgb, write_raster


def fourier_shift(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``image`` with its content moved by (dx, dy) px, exactly (band-limited, circular)."""
    fy, fx = np.meshgrid(np.fft.fftfreq(image.shape[0]), np.fft.fftfreq(image.shape[1]), indexing="ij")
    moved = np.fft.ifft2(np.fft.fft2(image) * np.exp(-2j * np.pi * (fx * dx + fy * dy)))
    return np.real(moved).astype(np.float32)


@pytest.mark.parametrize(("dx", "dy"), [(0.0, 0.0), (3.0, -5.0), (2.37, -0.81), (-7.5, 4.25)])
def test_phase_correlate_subpixel_and_sign(dx, dy) -> None:
    gray = textured_rgb(160, 160, seed=4)[1].astype(np.float32)
    moved = np.clip(fourier_shift(gray, dx, dy), 1, 255)
    valid = np.ones(gray.shape, bool)
    a, _ = normalise(gray, valid)
    b, _ = normalise(moved, valid)
    found = phase_correlate(a, b, taper(valid), taper(valid), 20)
    assert (found.dx, found.dy) == pytest.approx((dx, dy), abs=0.05)
    assert found.significance > 5 * MIN_SIGNIFICANCE


def test_phase_correlate_unrelated_is_not_significant() -> None:
    valid = np.ones((128, 128), bool)
    a, _ = normalise(textured_rgb(128, 128, seed=1)[0].astype(np.float32), valid)
    b, _ = normalise(textured_rgb(128, 128, seed=2)[0].astype(np.float32), valid)
    assert phase_correlate(a, b, taper(valid), taper(valid), 32).significance < MIN_SIGNIFICANCE


def test_read_on_grid_is_exact_on_the_raster_grid_and_shifts_by_whole_pixels(tmp_path) -> None:
    image = textured_rgb(64, 64, seed=5)
    transform = Affine(0.02, 0, 400000.0, 0, -0.02, 5000000.0)
    path = write_raster(tmp_path / "r.tif", image, transform, "EPSG:32633")
    info = open_orthomosaic(path)
    gray = 0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]
    grid = Grid(transform * Affine.translation(10, 12), 32, 24)
    with rasterio.open(path) as src:
        same, valid = read_on_grid(src, info, grid)
        # shift (+2 px east, 1 px south): grid pixel p samples the raster 2 px west and 1 px north of p
        moved, _ = read_on_grid(src, info, grid, (0.04, -0.02))
        _, outside_valid = read_on_grid(src, info, Grid(transform * Affine.translation(100, 0), 8, 8))
    np.testing.assert_allclose(same, gray[12:36, 10:42], atol=1e-3)
    np.testing.assert_allclose(moved, gray[11:35, 8:40], atol=1e-3)
    assert valid.all() and not outside_valid.any()
