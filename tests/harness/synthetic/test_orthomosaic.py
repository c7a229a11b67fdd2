from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp, Compression, MaskFlags

from geowarn.harness.synthetic import (
    CrackSpec,
    crack_length_px,
    crack_mask,
    demo_scene,
    make_orthomosaic,
    sparse_crack_network,
)
from geowarn.harness.synthetic.orthomosaic import main


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def crack_tiles(cracks: list[CrackSpec], seed: int, width: int, height: int, tile: int) -> set[tuple[int, int]]:
    tiles: set[tuple[int, int]] = set()
    for i, c in enumerate(cracks):
        p = np.asarray(c.points)
        g = c.width_px
        c0, r0 = max(0, math.floor(p[:, 0].min() - g)), max(0, math.floor(p[:, 1].min() - g))
        c1, r1 = min(width, math.ceil(p[:, 0].max() + g)), min(height, math.ceil(p[:, 1].max() + g))
        rows, cols = np.nonzero(crack_mask(c, i, seed, c0, r0, r1 - r0, c1 - c0))
        tiles |= set(zip(((rows + r0) // tile).tolist(), ((cols + c0) // tile).tolist(), strict=True))
    return tiles


def test_default_file_properties_and_determinism(tmp_path: Path) -> None:
    scene = make_orthomosaic(tmp_path / "a.tif", 320, 256, seed=7, n_cracks=2)
    with rasterio.open(scene.path) as ds:
        assert (ds.width, ds.height, ds.count) == (320, 256, 3)
        assert ds.crs.to_epsg() == 32633
        assert ds.transform == scene.transform
        assert (ds.transform.a, ds.transform.e) == (0.02, -0.02)
        assert (ds.transform.c, ds.transform.f) == (500000.0, 5200000.0)
        assert ds.dtypes == ("uint8",) * 3
        assert ds.profile["tiled"] and ds.block_shapes[0] == (256, 256)
        assert ds.compression == Compression.deflate
        assert ds.colorinterp == (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
        assert ds.nodata is None
    assert len(scene.cracks) == 2
    again = make_orthomosaic(tmp_path / "b.tif", 320, 256, seed=7, n_cracks=2)
    assert again.cracks == scene.cracks
    assert np.array_equal(read(scene.path), read(again.path))
    other = make_orthomosaic(tmp_path / "c.tif", 320, 256, seed=8, n_cracks=2)
    assert not np.array_equal(read(scene.path), read(other.path))


def test_window_rows_do_not_change_pixels(tmp_path: Path) -> None:
    a = make_orthomosaic(tmp_path / "a.tif", 600, 600, seed=3, n_cracks=3, window_rows=600)
    b = make_orthomosaic(tmp_path / "b.tif", 600, 600, seed=3, n_cracks=3, window_rows=97)
    assert a.cracks == b.cracks
    assert np.array_equal(read(a.path), read(b.path))


def test_striped_lzw(tmp_path: Path) -> None:
    scene = make_orthomosaic(tmp_path / "s.tif", 300, 200, seed=1, compress="lzw", tiled=False, window_rows=64)
    with rasterio.open(scene.path) as ds:
        assert not ds.profile.get("tiled", False)
        assert ds.block_shapes[0][1] == 300  # strips span the width
        assert ds.compression == Compression.lzw


def test_jpeg_ycbcr(tmp_path: Path) -> None:
    ref = make_orthomosaic(tmp_path / "r.tif", 256, 256, seed=1, compress="none")
    scene = make_orthomosaic(tmp_path / "j.tif", 256, 256, seed=1, compress="jpeg", photometric="YCBCR")
    with rasterio.open(scene.path) as ds:
        assert ds.compression == Compression.jpeg
        assert ds.photometric is not None and ds.photometric.name.upper() == "YCBCR"
        data = ds.read()
    with rasterio.open(ref.path) as ds:
        assert ds.compression is None
        raw = ds.read()
    assert np.abs(data.astype(int) - raw).mean() < 8  # lossy but close


def test_uint16_scales_by_257(tmp_path: Path) -> None:
    a = make_orthomosaic(tmp_path / "a.tif", 200, 150, seed=2)
    b = make_orthomosaic(tmp_path / "b.tif", 200, 150, seed=2, dtype="uint16")
    with rasterio.open(b.path) as ds:
        assert ds.dtypes == ("uint16",) * 3
    assert np.array_equal(read(a.path).astype(np.uint16) * 257, read(b.path))
    with pytest.raises(ValueError):
        make_orthomosaic(tmp_path / "c.tif", 64, 64, dtype="uint16", compress="jpeg")


def test_nodata_border(tmp_path: Path) -> None:
    scene = make_orthomosaic(tmp_path / "n.tif", 300, 260, seed=4, nodata_border_px=20)
    with rasterio.open(scene.path) as ds:
        assert ds.nodata == 0
        data = ds.read()
        valid = ds.dataset_mask() > 0
    assert not valid[0].any() and not valid[-1].any() and not valid[:, 0].any() and not valid[:, -1].any()
    assert valid[130, 150] and valid[40:-40, 40:-40].all()
    assert (data[:, ~valid] == 0).all() and (data[:, valid] > 0).all()
    # Irregular: the border width varies along each edge.
    top = (~valid).argmin(axis=0)[40:-40]
    assert top.min() < top.max()


def test_alpha_border(tmp_path: Path) -> None:
    scene = make_orthomosaic(tmp_path / "a.tif", 256, 256, seed=4, alpha=True, nodata_border_px=12)
    with rasterio.open(scene.path) as ds:
        assert ds.count == 4
        assert ds.colorinterp[3] == ColorInterp.alpha
        assert MaskFlags.alpha in ds.mask_flag_enums[0]
        a = ds.read(4)
        assert ds.nodata is None
    assert set(np.unique(a)) == {0, 255}
    assert a[0, 0] == 0 and a[128, 128] == 255


def test_crack_tile_fraction(tmp_path: Path) -> None:
    w, h, tile = 4096, 1024, 256
    scene = make_orthomosaic(tmp_path / "f.tif", w, h, seed=5, crack_tile_fraction=0.10, tile=tile, window_rows=512)
    frac = len(crack_tiles(scene.cracks, 5, w, h, tile)) / ((w // tile) * (h // tile))
    assert abs(frac - 0.10) <= 0.05


def test_sparse_network_is_spread_out() -> None:
    w = h = 8192
    cracks = sparse_crack_network(np.random.default_rng(0), w, h, tile=256, fraction=0.1, rng_seed=0)
    tiles = crack_tiles(cracks, 0, w, h, 256)
    assert abs(len(tiles) / 1024 - 0.10) <= 0.02
    blocks = {(r // 8, c // 8) for r, c in tiles}  # 2048-px blocks
    assert len(blocks) >= 12


def test_truth_lines_and_save(tmp_path: Path) -> None:
    spec = CrackSpec(points=((10.5, 20.5), (110.5, 20.5), (110.5, 60.5)), width_px=5.0, depth=0.8)
    scene = make_orthomosaic(tmp_path / "t.tif", 128, 128, seed=0, cracks=[spec], gsd_m=0.05, origin=(1000.0, 2000.0))
    gdf = scene.truth_lines()
    assert list(gdf.columns[:3]) == ["crack_index", "width_m", "length_m"]
    assert gdf.crs.to_epsg() == 32633
    assert gdf.loc[0, "width_m"] == pytest.approx(0.25)
    assert gdf.loc[0, "length_m"] == pytest.approx(140 * 0.05)
    assert gdf.geometry[0].length == pytest.approx(140 * 0.05)
    assert gdf.geometry[0].coords[0] == pytest.approx((1000.0 + 10.5 * 0.05, 2000.0 - 20.5 * 0.05))
    # The crack is drawn where the truth says: its centre pixel is dark.
    img = read(scene.path).mean(axis=0)
    assert img[20, 60] < 0.6 * np.median(img)
    for name in ("truth.geojson", "truth.gpkg"):
        scene.save_truth(tmp_path / name)
        back = gpd.read_file(tmp_path / name)
        assert len(back) == 1 and back.crs.to_epsg() == 32633
        assert back.geometry[0].length == pytest.approx(140 * 0.05)


def test_demo_scene(tmp_path: Path) -> None:
    scene = demo_scene(tmp_path / "demo.tif")
    assert (scene.width, scene.height, scene.gsd_m, scene.crs) == (2048, 2048, 0.02, "EPSG:32633")
    with rasterio.open(scene.path) as ds:
        assert (ds.width, ds.height) == (2048, 2048) and ds.crs.to_epsg() == 32633
    cracks = scene.cracks
    assert 6 <= len(cracks) <= 10
    assert all(3.0 <= c.width_px <= 12.0 for c in cracks)
    assert max(crack_length_px(c) for c in cracks) > 1000

    # At least one branch: a crack that starts on another crack.
    def on(pt: tuple[float, float], other: CrackSpec) -> bool:
        p = np.asarray(other.points)
        return bool(np.hypot(p[:, 0] - pt[0], p[:, 1] - pt[1]).min() < other.width_px)

    assert any(on(a.points[0], b) for a in cracks for b in cracks if a is not b)
    # Several cracks cross the 256-px tile seams.
    crossing = 0
    for c in cracks:
        p = np.asarray(c.points) // 256
        crossing += len(np.unique(p[:, 0])) > 1 or len(np.unique(p[:, 1])) > 1
    assert crossing >= 3


def test_main_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.tif"
    main(
        [
            str(out),
            "--width",
            "256",
            "--height",
            "200",
            "--seed",
            "3",
            "--crack-tile-fraction",
            "0.5",
            "--truth",
            str(tmp_path / "m.geojson"),
        ]
    )
    line = capsys.readouterr().out.strip()
    assert "256x200" in line and "cracks" in line and "\n" not in line
    assert out.exists() and (tmp_path / "m.geojson").exists()
