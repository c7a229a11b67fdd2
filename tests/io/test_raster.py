from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from geowarn.errors import GeowarnError, InvalidRasterError, UnsupportedCRSError
from geowarn.io.raster import open_orthomosaic, read_rgb_window
from tests.conftest import soil_rgb, write_geotiff


def test_error_hierarchy_matches_builtins() -> None:
    assert issubclass(InvalidRasterError, ValueError)
    assert issubclass(UnsupportedCRSError, InvalidRasterError)
    assert issubclass(InvalidRasterError, GeowarnError)


@pytest.mark.parametrize(
    "profile",
    [
        {},
        {"tiled": True, "blockxsize": 32, "blockysize": 32},
        {"compress": "jpeg", "tiled": True, "blockxsize": 64, "blockysize": 64},
        {"compress": "lzw", "predictor": 2},
        {"compress": "deflate", "photometric": "rgb"},
    ],
)
def test_reads_geotiff_variants(make_geotiff, profile) -> None:
    path = make_geotiff(**profile)
    info = open_orthomosaic(path)
    assert (info.width, info.height) == (128, 96)
    assert info.gsd_m == pytest.approx(0.02, rel=1e-3)
    assert info.rgb_bands == (1, 2, 3)
    with rasterio.open(path) as src:
        rgb, valid = read_rgb_window(src, info, Window(0, 0, 128, 96))
    assert rgb.shape == (96, 128, 3) and rgb.dtype == np.uint8
    assert valid.all()


def test_rgba_alpha_marks_nodata(tmp_path: Path) -> None:
    rgb = soil_rgb(64, 64)
    alpha = np.full((1, 64, 64), 255, np.uint8)
    alpha[0, :, :20] = 0
    path = write_geotiff(tmp_path / "rgba.tif", np.concatenate([rgb, alpha]), photometric="rgb")
    with rasterio.open(path, "r+") as ds:
        ds.colorinterp = [
            rasterio.enums.ColorInterp.red,
            rasterio.enums.ColorInterp.green,
            rasterio.enums.ColorInterp.blue,
            rasterio.enums.ColorInterp.alpha,
        ]
    info = open_orthomosaic(path)
    assert info.alpha_band == 4 and info.has_mask
    with rasterio.open(path) as src:
        _, valid = read_rgb_window(src, info, Window(0, 0, 64, 64))
    assert not valid[:, :20].any() and valid[:, 20:].all()


def test_nodata_value_respected(tmp_path: Path) -> None:
    rgb = soil_rgb(64, 64)
    rgb[:, :10, :] = 0
    path = write_geotiff(tmp_path / "nd.tif", rgb, nodata=0)
    info = open_orthomosaic(path)
    with rasterio.open(path) as src:
        _, valid = read_rgb_window(src, info, Window(0, 0, 64, 64))
    assert not valid[:10].any() and valid[10:].all()


def test_uint16_is_stretched_to_uint8(make_geotiff) -> None:
    info = open_orthomosaic(make_geotiff(dtype="uint16"))
    assert info.stretch is not None
    with rasterio.open(info.path) as src:
        rgb, _ = read_rgb_window(src, info, Window(0, 0, 128, 96))
    assert rgb.dtype == np.uint8 and rgb.min() <= 5 and rgb.max() >= 250


def test_projection_scale_factor_corrects_mercator(make_geotiff) -> None:
    # World Mercator at ~46.6° N: map metres are ~1.46x ground metres.
    path = make_geotiff(crs="EPSG:3395", transform=from_origin(1_000_000.0, 5_850_000.0, 0.02, 0.02))
    info = open_orthomosaic(path)
    assert info.scale_factor > 1.3
    assert info.gsd_m == pytest.approx(0.02 / info.scale_factor, rel=1e-6)


def _assert_clear(exc: BaseException, path: Path, *words: str) -> None:
    text = str(exc)
    assert (str(path) in text and "Fix:" in text) or "gdal" in text.lower()
    for word in words:
        assert word in text, text


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidRasterError, match="does not exist"):
        open_orthomosaic(tmp_path / "nope.tif")


def test_not_a_raster(tmp_path: Path) -> None:
    path = tmp_path / "notes.tif"
    path.write_text("this is not a GeoTIFF\n")
    with pytest.raises(InvalidRasterError) as err:
        open_orthomosaic(path)
    _assert_clear(err.value, path, "not a readable raster")


def test_zero_size_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.tif"
    path.touch()
    with pytest.raises(InvalidRasterError, match="empty"):
        open_orthomosaic(path)


def test_truncated_file(make_geotiff, tmp_path: Path) -> None:
    src = make_geotiff(height=512, width=512, tiled=True, blockxsize=64, blockysize=64, compress="deflate")
    data = src.read_bytes()
    cut = tmp_path / "cut.tif"
    # Keep the header and directory (written first by GDAL for fresh files) but drop data blocks.
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidRasterError) as err:
        open_orthomosaic(cut)
    assert str(cut) in str(err.value)


def test_no_crs(make_geotiff) -> None:
    path = make_geotiff(crs=None)
    with pytest.raises(InvalidRasterError) as err:
        open_orthomosaic(path)
    _assert_clear(err.value, path, "no coordinate reference system", "gdal_edit.py -a_srs")


def test_no_geotransform(make_geotiff) -> None:
    path = make_geotiff(transform=None)
    with pytest.raises(InvalidRasterError) as err:
        open_orthomosaic(path)
    _assert_clear(err.value, path, "no geotransform")


def test_single_band(make_geotiff) -> None:
    path = make_geotiff(bands=1)
    with pytest.raises(InvalidRasterError) as err:
        open_orthomosaic(path)
    _assert_clear(err.value, path, "single-band", "RGB")


def test_tiny_raster(make_geotiff) -> None:
    with pytest.raises(InvalidRasterError, match="too small"):
        open_orthomosaic(make_geotiff(height=4, width=4))


@pytest.mark.parametrize("pixel", [1e-6, 5.0])
def test_absurd_pixel_size(make_geotiff, pixel: float) -> None:
    path = make_geotiff(transform=from_origin(500000.0, 5200000.0, pixel, pixel))
    with pytest.raises(InvalidRasterError) as err:
        open_orthomosaic(path)
    _assert_clear(err.value, path, "pixel size")


def test_float_data_refused(tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "f.tif", soil_rgb(32, 32).astype(np.float32))
    with pytest.raises(InvalidRasterError, match="uint8 or uint16"):
        open_orthomosaic(path)


def test_geographic_crs_refused_with_gdalwarp_command(make_geotiff) -> None:
    # 15.5° E, 46.5° N -> UTM zone 33 north.
    path = make_geotiff(crs="EPSG:4326", transform=from_origin(15.5, 46.5, 2e-7, 2e-7))
    with pytest.raises(UnsupportedCRSError) as err:
        open_orthomosaic(path)
    assert "gdalwarp -t_srs EPSG:32633" in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.realdata
def test_real_geotiffs(shared_data: Path) -> None:
    folder = shared_data / "geotiff"
    info = open_orthomosaic(folder / "australia.tif")
    assert info.epsg == 32753 and info.gsd_m == pytest.approx(0.018, abs=0.001) and info.has_mask
    tiled = open_orthomosaic(folder / "test_tiled.tif")
    assert tiled.tiled and tiled.block_shape == (256, 256) and tiled.compression == "jpeg"
    rgba = open_orthomosaic(folder / "webodm_orthophoto.tif")
    assert rgba.alpha_band == 4
    with pytest.raises(UnsupportedCRSError, match="gdalwarp"):
        open_orthomosaic(folder / "rgbsmall.tif")


def test_internal_mask_respected(tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "masked.tif", soil_rgb(64, 64), tiled=True, blockxsize=32, blockysize=32)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "r+") as ds:
        mask = np.full((64, 64), 255, np.uint8)
        mask[40:, :] = 0
        ds.write_mask(mask)
    assert not (tmp_path / "masked.tif.msk").exists()
    info = open_orthomosaic(path)
    assert info.has_mask
    with rasterio.open(path) as src:
        _, valid = read_rgb_window(src, info, Window(0, 0, 64, 64))
    assert valid[:40].all() and not valid[40:].any()
