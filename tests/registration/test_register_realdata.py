"""Acceptance: a known shift is recovered on real imagery to within 1 px.

The "next survey" is the same real ground seen again: a sub-window cut at a sub-pixel offset
(cubic resampling, possibly at another pixel size), with another exposure, sensor noise, local
ground changes, and georeferencing off by a GNSS error of up to 1 m. Derived rasters are written
to tmp_path only.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from geowarn.registration import register_surveys

from .conftest import resurvey, write_raster

pytestmark = pytest.mark.realdata

#: The acceptance criterion, and a much tighter guard against regressions (errors are ~0.01 px).
ACCEPT_PX = 1.0
GUARD_PX = 0.25

CASES = {
    # drone orthomosaic crop, 1.8 cm, nodata 0: the 0.5 m scenario shift, same pixel size
    "australia-scenario": ("australia.tif", (0.5, -0.35), 1.0, 0.75, 1.3),
    # the same with a 1 m GNSS error and a 1.8 cm vs 2.2 cm pixel size
    "australia-1m-gsd": ("australia.tif", (-0.72, 0.69), 1.2, 1.15, 0.8),
    # Dutch aerial photo, 25 cm (JPEG-compressed, tiled), 1 m error, 25 vs 22.5 cm pixels
    "dutch-aerial-1m-gsd": ("test_tiled.tif", (0.85, 0.52), 0.9, 0.7, 1.5),
}


@pytest.mark.parametrize("case", list(CASES))
def test_recovers_known_shift_on_real_imagery(shared_data: Path, tmp_path: Path, case: str, record_property) -> None:
    name, gnss_error_m, scale, gain, gamma = CASES[case]
    reference = shared_data / "geotiff" / name
    with rasterio.open(reference) as src:
        image, transform, crs = src.read(), src.transform, src.crs.to_string()
    gsd = transform.a
    margin = 1.2 / gsd  # beyond the largest GNSS error
    size = int((min(image.shape[1:]) - 2 * margin) / scale)
    data, moved = resurvey(
        image,
        transform,
        origin_px=(margin + 0.37, margin + 0.61),
        size=(size, size),
        scale=scale,
        gnss_error_m=gnss_error_m,
        gain=gain,
        gamma=gamma,
        noise=3.0,
        changes=4,
        nodata_corner=True,
        seed=7,
    )
    moving = write_raster(tmp_path / "next_survey.tif", data, moved, crs, nodata=0)
    reg = register_surveys(reference, moving)
    assert reg.ok, reg.reason
    err_x = (reg.dx_m + gnss_error_m[0]) / gsd
    err_y = (reg.dy_m + gnss_error_m[1]) / gsd
    error = math.hypot(err_x, err_y)
    record_property("shift_error_px", round(error, 4))
    print(f"{case}: error {err_x:+.4f}, {err_y:+.4f} px ({error:.4f} px), 1-sigma {reg.residual_m / gsd:.3f} px")
    assert error < ACCEPT_PX
    assert error < GUARD_PX, f"{error:.3f} px: far worse than usual (~0.01 px)"
    assert reg.n_patches >= 3 and reg.residual_m < 0.5 * gsd


def test_other_ground_is_not_registered(shared_data: Path, tmp_path: Path) -> None:
    """Two different parts of a real aerial photo, georeferenced on the same spot: not the same site."""
    with rasterio.open(shared_data / "geotiff" / "test_tiled.tif") as src:
        image, transform, crs = src.read(), src.transform, src.crs.to_string()
    ref = write_raster(tmp_path / "a.tif", np.ascontiguousarray(image[:, :480, :480]), transform, crs)
    other = np.ascontiguousarray(image[:, 520:, 520:])
    mov = write_raster(tmp_path / "b.tif", other, Affine.translation(0.3, -0.2) * transform, crs)
    reg = register_surveys(ref, mov)
    assert not reg.ok
    assert reg.reason is not None and "no consistent match" in reg.reason
