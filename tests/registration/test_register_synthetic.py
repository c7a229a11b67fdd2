from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point

from geowarn.errors import ConfigError, InvalidRasterError
from geowarn.registration import Registration, register_surveys

from .conftest import resurvey, textured_rgb, write_raster

GSD = 0.01


def error_px(reg: Registration, gnss_error_m: tuple[float, float], gsd: float = GSD) -> float:
    """Distance (reference px) between the estimate and the true correction -gnss_error."""
    assert reg.ok, reg.reason
    return math.hypot(reg.dx_m + gnss_error_m[0], reg.dy_m + gnss_error_m[1]) / gsd


@pytest.mark.parametrize(
    "gnss_error_m",
    [(0.12, -0.07), (0.0, 0.0), (0.1234, 0.0567), (-0.4321, 0.2468)],
    ids=["integer", "zero", "subpixel", "subpixel-large"],
)
def test_recovers_known_shift(survey_pair, gnss_error_m) -> None:
    ref, mov = survey_pair(gnss_error_m=gnss_error_m)
    reg = register_surveys(ref, mov)
    assert error_px(reg, gnss_error_m) < 0.1
    assert reg.n_patches >= 3 and reg.n_patches <= reg.n_tried
    assert 0 < reg.residual_m < 0.2 * GSD
    assert reg.overlap_fraction > 0.9
    assert reg.method == "phasecorr-coarse+patches" and reg.reason is None


def test_sign_convention(survey_pair) -> None:
    # the same ground feature appears at map (+0.3, -0.2) m in the new survey
    ref, mov = survey_pair(gnss_error_m=(0.3, -0.2))
    reg = register_surveys(ref, mov)
    assert reg.dx_m == pytest.approx(-0.3, abs=0.1 * GSD)
    assert reg.dy_m == pytest.approx(0.2, abs=0.1 * GSD)
    moved = reg.apply(Point(500002.3, 5199997.8))
    assert (moved.x, moved.y) == pytest.approx((500002.0, 5199998.0), abs=0.1 * GSD)


def test_illumination_change_and_noise(survey_pair) -> None:
    gnss_error_m = (-0.21, 0.34)
    for gain, gamma in ((0.7, 1.0), (0.7, 1.6), (1.0, 0.6)):
        ref, mov = survey_pair(gnss_error_m=gnss_error_m, gain=gain, gamma=gamma, noise=5.0)
        assert error_px(register_surveys(ref, mov), gnss_error_m) < 0.1, (gain, gamma)


@pytest.mark.parametrize("scale", [1.2, 0.85])
def test_different_gsd(survey_pair, scale) -> None:
    gnss_error_m = (0.27, 0.15)
    ref, mov = survey_pair(gnss_error_m=gnss_error_m, scale=scale, noise=2.0)
    with rasterio.open(mov) as src:
        assert src.res[0] == pytest.approx(GSD * scale)
    assert error_px(register_surveys(ref, mov), gnss_error_m) < 0.1


def test_uint16_survey(survey_pair) -> None:
    gnss_error_m = (-0.11, -0.29)
    ref, mov = survey_pair(gnss_error_m=gnss_error_m, gamma=1.2)
    with rasterio.open(mov) as src:
        profile, data = src.profile, src.read()
    profile.update(dtype="uint16")
    with rasterio.open(mov, "w", **profile) as dst:
        dst.write(data.astype(np.uint16) * 180 + 900)
    assert error_px(register_surveys(ref, mov), gnss_error_m) < 0.1


def test_ground_changes_and_nodata(survey_pair) -> None:
    gnss_error_m = (0.18, -0.33)
    ref, mov = survey_pair(gnss_error_m=gnss_error_m, changes=6, nodata_corner=True, gain=0.8, noise=3.0)
    with rasterio.open(mov, "r+") as dst:
        dst.nodata = 0
    with rasterio.open(ref) as src:
        profile, data = src.profile, src.read()
    alpha = np.full((1, *data.shape[1:]), 255, np.uint8)
    alpha[:, :, 280:] = 0  # the reference flight ended at column 280
    profile.update(count=4, photometric="rgb", alpha="yes")
    with rasterio.open(ref, "w", **profile) as dst:
        dst.write(np.concatenate([data, alpha]))
    reg = register_surveys(ref, mov)
    assert error_px(reg, gnss_error_m) < 0.1
    # the new survey is 320 px wide, placed 18 px east of column 40 of the reference, which stops at 280:
    # 222 of its 320 columns overlap, less its blank corner (1/8 of its area), of its 7/8 imaged area
    assert reg.overlap_fraction == pytest.approx((222 / 320 - 1 / 8) / (7 / 8), abs=0.02)


def test_coarse_stage_on_overviews(tmp_path: Path) -> None:
    gnss_error_m = (0.9, -0.6)  # 90 px at 1 cm: found by the coarse stage, refined by 128 px patches
    image = textured_rgb(900, 900, seed=3)
    transform = Affine(GSD, 0, 300000.0, 0, -GSD, 4000000.0)
    ref = write_raster(tmp_path / "ref.tif", image, transform, "EPSG:32632", tiled=True, blockxsize=256, blockysize=256)
    data, moved = resurvey(image, transform, origin_px=(100.4, 99.7), size=(700, 700), gnss_error_m=gnss_error_m)
    mov = write_raster(tmp_path / "mov.tif", data, moved, "EPSG:32632", tiled=True, blockxsize=256, blockysize=256)
    for path in (ref, mov):
        with rasterio.open(path, "r+") as dst:
            dst.build_overviews([2, 4])
    reg = register_surveys(ref, mov, coarse_gsd_m=0.04, patch_px=128, max_patches=6)
    assert reg.method == "phasecorr-coarse+patches"
    assert reg.n_tried == 6
    assert error_px(reg, gnss_error_m) < 0.1


# --- cases that cannot be registered: ok=False with a reason, never an exception --------------


def assert_failed(reg: Registration, *words: str) -> None:
    assert not reg.ok
    assert reg.reason is not None
    for word in words:
        assert word in reg.reason, reg.reason
    assert math.isnan(reg.dx_m) and math.isnan(reg.dy_m) and math.isnan(reg.residual_m)
    data = reg.to_dict()
    assert data["dx_m"] is None and data["reason"] == reg.reason
    json.dumps(data)


def test_no_overlap(survey_pair) -> None:
    ref, mov = survey_pair(gnss_error_m=(150.0, 0.0))
    reg = register_surveys(ref, mov, reference_label="of 2026-05-01")
    assert_failed(reg, "0%", "need ≥ 30%", "survey of 2026-05-01")
    assert reg.overlap_fraction == 0.0


def test_small_overlap(survey_pair) -> None:
    ref, mov = survey_pair(gnss_error_m=(2.5, 2.5))  # a 3.2 m square moved by 2.5 m on both axes
    reg = register_surveys(ref, mov)
    assert_failed(reg, "overlaps the reference survey reference.tif", "need ≥ 30%")
    assert 0.0 < reg.overlap_fraction < 0.3
    assert f"only {reg.overlap_fraction:.0%}" in reg.reason


def test_different_crs(survey_pair) -> None:
    ref, mov = survey_pair(crs="EPSG:32634")
    assert_failed(register_surveys(ref, mov), "EPSG:32634", "EPSG:32633", "gdalwarp -t_srs EPSG:32633")


def test_flat_texture(tmp_path: Path) -> None:
    transform = Affine(GSD, 0, 500000.0, 0, -GSD, 5200000.0)
    rng = np.random.default_rng(0)
    ref = write_raster(tmp_path / "ref.tif", np.full((3, 300, 300), 140, np.uint8), transform, "EPSG:32633")
    noisy = np.clip(rng.normal(140, 1.5, (3, 300, 300)), 0, 255).astype(np.uint8)  # blank but for sensor noise
    mov = write_raster(tmp_path / "mov.tif", noisy, transform * Affine.translation(7, 5), "EPSG:32633")
    for a, b in ((ref, mov), (mov, ref)):
        assert_failed(register_surveys(a, b), "too little texture")


def test_unrelated_images(tmp_path: Path) -> None:
    transform = Affine(GSD, 0, 500000.0, 0, -GSD, 5200000.0)
    ref = write_raster(tmp_path / "ref.tif", textured_rgb(400, 400, seed=1), transform, "EPSG:32633")
    mov = write_raster(tmp_path / "mov.tif", textured_rgb(400, 400, seed=2), transform, "EPSG:32633")
    reg = register_surveys(ref, mov)
    assert_failed(reg, "no consistent match", "patches agree", "different site")
    assert reg.overlap_fraction > 0.95 and reg.n_tried >= 3


def test_shift_beyond_max(survey_pair) -> None:
    ref, mov = survey_pair(gnss_error_m=(0.45, 0.0))
    assert_failed(register_surveys(ref, mov, max_shift_m=0.3), "0.45 m", "0.30 m allowed")


def test_invalid_file_raises(tmp_path: Path, survey_pair) -> None:
    ref, _ = survey_pair()
    with pytest.raises(InvalidRasterError):
        register_surveys(ref, tmp_path / "missing.tif")


@pytest.mark.parametrize(
    "options", [{"max_shift_m": 0.0}, {"min_overlap": 1.5}, {"patch_px": 8}, {"max_patches": 2, "min_patches": 3}]
)
def test_impossible_options_raise(survey_pair, options) -> None:
    ref, mov = survey_pair()
    with pytest.raises(ConfigError, match="invalid registration options"):
        register_surveys(ref, mov, **options)


def test_to_dict_round_trips_json(survey_pair) -> None:
    ref, mov = survey_pair(gnss_error_m=(0.05, 0.05))
    data = register_surveys(ref, mov).to_dict()
    assert json.loads(json.dumps(data))["ok"] is True
    assert set(data) >= {"ok", "dx_m", "dy_m", "residual_m", "n_patches", "n_tried", "overlap_fraction", "method"}
