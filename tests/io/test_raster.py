from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from hypothesis import given
from hypothesis import strategies as st
from rasterio.enums import ColorInterp
from rasterio.transform import from_origin
from rasterio.windows import Window

from geowarn.errors import GeowarnError, InvalidRasterError, UnsupportedCRSError
from geowarn.io.raster import open_orthomosaic, read_rgb_window
from tests.conftest import soil_rgb, write_geotiff
from tests.hardening import tally


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


def _sparse(path: Path, side: int) -> Path:
    """A GeoTIFF whose header claims ``side`` x ``side`` px and holds no data block at all."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=side,
        height=side,
        count=3,
        dtype="uint8",
        crs="EPSG:32633",
        transform=from_origin(500000.0, 5200000.0, 0.01, 0.01),
        tiled=True,
        blockxsize=1024,
        blockysize=1024,
        sparse_ok=True,
        BIGTIFF="YES",
    ):
        pass
    return path


def test_a_header_claiming_200000_px_a_side_is_refused_before_any_read(tmp_path: Path, monkeypatch) -> None:
    import time

    monkeypatch.delenv("GEOWARN_MAX_PIXELS", raising=False)
    path = _sparse(tmp_path / "huge.tif", 200_000)
    assert path.stat().st_size < 3_000_000
    start = time.perf_counter()
    with pytest.raises(InvalidRasterError) as err:
        open_orthomosaic(path)
    assert time.perf_counter() - start < 2.0
    message = str(err.value)
    assert "200,000 x 200,000 px (40 gigapixels), over the limit of 4 gigapixels" in message
    assert "--max-pixels 4e+10" in message and "GEOWARN_MAX_PIXELS" in message
    tally("bad inputs", clean="\n" not in message)


def test_the_size_limit_can_be_raised(make_geotiff, monkeypatch) -> None:
    path = make_geotiff()
    with pytest.raises(InvalidRasterError, match="over the limit"):
        open_orthomosaic(path, max_pixels=10_000)
    monkeypatch.setenv("GEOWARN_MAX_PIXELS", "10000")
    with pytest.raises(InvalidRasterError, match="over the limit"):
        open_orthomosaic(path)
    assert open_orthomosaic(path, max_pixels=20_000).width == 128
    monkeypatch.setenv("GEOWARN_MAX_PIXELS", "lots")
    with pytest.raises(GeowarnError, match="GEOWARN_MAX_PIXELS='lots' is not a positive number"):
        open_orthomosaic(path)


@pytest.mark.parametrize("kind", ["nodata value", "alpha", "sparse"])
def test_a_raster_without_one_valid_pixel_is_refused(tmp_path: Path, kind: str) -> None:
    if kind == "nodata value":
        path = write_geotiff(tmp_path / "x.tif", np.zeros((3, 300, 300), np.uint8), nodata=0)
    elif kind == "alpha":
        data = np.concatenate([soil_rgb(300, 300), np.zeros((1, 300, 300), np.uint8)])
        path = write_geotiff(tmp_path / "x.tif", data)
        with rasterio.open(path, "r+") as dst:
            dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
    else:
        path = _sparse(tmp_path / "x.tif", 5000)
        with rasterio.open(path, "r+") as dst:
            dst.nodata = 0
    with pytest.raises(InvalidRasterError, match="has no valid pixel") as err:
        open_orthomosaic(path)
    tally("bad inputs", clean="\n" not in str(err.value))


def test_a_small_valid_patch_is_enough(tmp_path: Path) -> None:
    data = np.zeros((3, 700, 700), np.uint8)
    data[:, 333:343, 611:621] = soil_rgb(10, 10)
    path = write_geotiff(tmp_path / "x.tif", data, nodata=0, tiled=True, blockxsize=64, blockysize=64)
    assert open_orthomosaic(path).width == 700


headers = st.fixed_dictionaries(
    {
        "width": st.integers(1, 48),
        "height": st.integers(1, 48),
        "count": st.integers(1, 5),
        "dtype": st.sampled_from(["uint8", "uint16", "int16", "float32"]),
        "crs": st.sampled_from([None, "EPSG:32633", "EPSG:4326", "EPSG:3857", "EPSG:2056"]),
        "pixel": st.sampled_from([1e-6, 0.01, 0.02, 3.0, 1e6]),
        "yscale": st.sampled_from([1.0, 1.0, 3.0, -1.0]),
        "nodata": st.sampled_from([None, 0, 255]),
        "tiled": st.booleans(),
    }
)


@given(headers)
def test_any_raster_header_is_accepted_or_refused_on_one_line(h: dict) -> None:  # type: ignore[type-arg]
    import tempfile

    from geowarn.io.raster import MIN_SIDE_PX

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h.tif"
        data = np.full((h["count"], h["height"], h["width"]), 120, h["dtype"])
        transform = from_origin(500000.0, 5200000.0, h["pixel"], h["pixel"] * h["yscale"])
        profile = {"tiled": True, "blockxsize": 16, "blockysize": 16} if h["tiled"] else {}
        write_geotiff(path, data, crs=h["crs"], transform=transform, nodata=h["nodata"], **profile)
        try:
            info = open_orthomosaic(path)
        except InvalidRasterError as exc:
            tally("bad inputs", clean=str(path) in str(exc) and "\n" not in str(exc) and "Fix:" in str(exc))
            assert "\n" not in str(exc) and "Fix:" in str(exc)
        else:
            assert info.count >= 3 and min(info.width, info.height) >= MIN_SIDE_PX
            assert info.dtype in ("uint8", "uint16") and info.crs_name


@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=8))
def test_any_damaged_header_is_refused_on_one_line_or_read(flips: list[tuple[int, int]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        good = write_geotiff(Path(folder) / "g.tif", soil_rgb(40, 40), tiled=True, blockxsize=16, blockysize=16)
        data = bytearray(good.read_bytes())
        for offset, value in flips:
            data[offset % len(data)] = value
        path = Path(folder) / "d.tif"
        path.write_bytes(bytes(data))
        try:
            open_orthomosaic(path)
        except InvalidRasterError as exc:
            tally("bad inputs", clean="\n" not in str(exc))
            assert "\n" not in str(exc)
