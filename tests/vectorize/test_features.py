from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import cv2
import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.transform import from_origin
from rasterio.windows import Window
from shapely.geometry import MultiPolygon, Polygon, box

from geowarn.errors import InvalidRasterError, UnsupportedCRSError
from geowarn.vectorize import (
    CENTERLINE_LAYER,
    COLUMNS,
    POLYGON_LAYER,
    Component,
    StripLabeler,
    features,
    gpkg,
    measure_component,
    vectorize_cracks,
    vectorize_features,
    write_cracks_gpkg,
)

GSD = 0.02
ORIGIN = (500000.0, 5100000.0)
NORTH_UP = Affine.translation(*ORIGIN) @ Affine.scale(GSD, -GSD)
H, W = 200, 300


def write_tif(path: Path, data: np.ndarray, transform: Affine = NORTH_UP, crs: str = "EPSG:32633") -> Path:
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": "uint8",
        "crs": crs,
        "transform": transform,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def scene() -> tuple[np.ndarray, np.ndarray]:
    """Mask and probability (uint8) of a horizontal crack A, an oblique crack B and a speck C."""
    mask = np.zeros((H, W), np.uint8)
    mask[40:45, 30:230] = 1  # A: 200 x 5 px -> 4.0 m long, 0.10 m wide
    rr, cc = np.mgrid[0:H, 0:W].astype(float)
    p0, p1 = np.array([100.0, 50.0]), np.array([180.0, 250.0])
    u = (p1 - p0) / np.hypot(*(p1 - p0))
    t = (rr - p0[0]) * u[0] + (cc - p0[1]) * u[1]
    perp = -(rr - p0[0]) * u[1] + (cc - p0[1]) * u[0]
    mask[(np.abs(perp) < 1.5) & (t > 0) & (t <= np.hypot(*(p1 - p0)))] = 1  # B: 3 px wide
    mask[150:153, 10:16] = 1  # C: 6 x 3 px speck
    mask[0:10, 280:300] = 255  # nodata
    crack = mask == 1
    ring = np.zeros_like(crack)
    ring[1:-1, 1:-1] = crack[:-2, 1:-1] | crack[2:, 1:-1] | crack[1:-1, :-2] | crack[1:-1, 2:]
    ring &= ~crack
    rng = np.random.default_rng(7)
    prob = np.where(crack, 0.9, np.where(ring, 0.5, rng.uniform(0.0, 0.1, crack.shape)))
    return mask, np.round(prob * 255).astype(np.uint8)


@pytest.fixture
def rasters(tmp_path: Path) -> tuple[Path, Path]:
    mask, prob = scene()
    return write_tif(tmp_path / "mask.tif", mask), write_tif(tmp_path / "prob.tif", prob)


def components_of(path: Path, strip: int = 37) -> list[Component]:
    with rasterio.open(path) as src:
        labeler = StripLabeler(src.width)
        for row in range(0, src.height, strip):
            h = min(strip, src.height - row)
            labeler.add_strip(row, src.read(1, window=Window(0, row, src.width, h)))
    return labeler.finish()


def test_vectorize_attributes_in_metres(rasters: tuple[Path, Path]) -> None:
    mask_path, prob_path = rasters
    comps = components_of(mask_path)
    assert len(comps) == 3  # the 255 nodata block is not a crack
    polys, lines = vectorize_cracks(mask_path, prob_path, comps, min_length_m=0.5)
    for gdf in (polys, lines):
        assert gdf.crs.to_epsg() == 32633
        assert list(gdf.columns) == [*COLUMNS, "geometry"]
        assert gdf["crack_id"].tolist() == [1, 2]
        assert gdf.geometry.is_valid.all()
    assert set(polys.geom_type) == {"MultiPolygon"} and set(lines.geom_type) == {"MultiLineString"}
    a, b = polys.iloc[0], polys.iloc[1]
    assert a.length_m == pytest.approx(4.0, rel=0.03)
    assert a.mean_width_m == pytest.approx(0.10, abs=0.01) and a.max_width_m == pytest.approx(0.10, abs=0.01)
    assert a.area_m2 == pytest.approx(1000 * GSD**2) and a.n_pixels == 1000
    assert a.azimuth_deg == pytest.approx(90.0, abs=0.5)
    assert a.gsd_m == pytest.approx(GSD) and a.n_branches == 1
    x0, y0 = ORIGIN
    expected_bbox = (x0 + 30 * GSD, y0 - 45 * GSD, x0 + 230 * GSD, y0 - 40 * GSD)
    assert (a.bbox_minx, a.bbox_miny, a.bbox_maxx, a.bbox_maxy) == pytest.approx(expected_bbox)
    assert a.mean_prob == pytest.approx(0.9, abs=0.01) and a.max_prob == pytest.approx(0.9, abs=0.01)
    assert a.length_unc_m == pytest.approx(GSD * math.hypot(0.5 * math.sqrt(2), 0.01 * 200), rel=0.05)
    # the 0.5 ring adds ~1 px per side between the thresholds: sqrt(2 * 0.5**2 + 1**2) px
    assert a.width_unc_m == pytest.approx(GSD * math.sqrt(1.5), rel=0.1)
    assert a.length_steps_m < a.length_m
    assert b.length_m == pytest.approx(GSD * math.hypot(80, 200), rel=0.03)
    assert b.mean_width_m == pytest.approx(3 * GSD, abs=0.01)
    assert b.azimuth_deg == pytest.approx(math.degrees(math.atan2(200, -80)), abs=1.0)
    assert polys.geometry.area.to_numpy() == pytest.approx(polys["area_m2"].to_numpy())
    assert lines.geometry.length.to_numpy() == pytest.approx(lines["length_m"].to_numpy(), rel=1e-6)
    with rasterio.open(mask_path) as src:
        bounds = box(*src.bounds).buffer(1e-6)
    assert bounds.contains(polys.union_all()) and bounds.contains(lines.union_all())
    for poly, line in zip(polys.geometry, lines.geometry, strict=True):
        assert poly.buffer(GSD).contains(line)


def test_min_length_filter_and_renumbering(rasters: tuple[Path, Path]) -> None:
    mask_path, prob_path = rasters
    comps = components_of(mask_path)
    polys, _ = vectorize_cracks(mask_path, prob_path, comps, min_length_m=4.2)
    assert polys["crack_id"].tolist() == [1]
    assert polys.iloc[0].length_m == pytest.approx(GSD * math.hypot(80, 200), rel=0.03)
    polys, _ = vectorize_cracks(mask_path, None, comps, min_length_m=0.0)
    assert polys["crack_id"].tolist() == [1, 2, 3]
    assert polys["length_m"].iloc[2] < 0.2
    assert polys["mean_prob"].isna().all()


def test_rotated_transform_azimuth(tmp_path: Path) -> None:
    mask, _ = scene()
    rotated = Affine.translation(*ORIGIN) @ Affine.rotation(30.0) @ Affine.scale(GSD, -GSD)
    path = write_tif(tmp_path / "rot.tif", mask, transform=rotated)
    polys, _ = vectorize_cracks(path, None, components_of(path), min_length_m=3.0)
    a = polys.iloc[0]
    assert a.gsd_m == pytest.approx(GSD)
    assert a.length_m == pytest.approx(4.0, rel=0.03)
    assert a.azimuth_deg == pytest.approx(60.0, abs=0.5)  # +col axis turned 30 degrees anticlockwise


def test_gpkg_round_trip(rasters: tuple[Path, Path], tmp_path: Path) -> None:
    mask_path, prob_path = rasters
    polys, lines = vectorize_cracks(mask_path, prob_path, components_of(mask_path), min_length_m=0.5)
    out = tmp_path / "cracks.gpkg"
    write_cracks_gpkg(out, polys, lines)
    write_cracks_gpkg(out, polys, lines)  # rewriting replaces the layers
    layers = dict(pyogrio.list_layers(out).tolist())
    assert layers == {POLYGON_LAYER: "MultiPolygon", CENTERLINE_LAYER: "MultiLineString"}
    for layer, original in ((POLYGON_LAYER, polys), (CENTERLINE_LAYER, lines)):
        back = gpd.read_file(out, layer=layer)
        assert back.crs.to_epsg() == 32633
        assert list(back.columns) == list(original.columns)
        assert back["crack_id"].tolist() == [1, 2]
        np.testing.assert_allclose(back["length_m"], original["length_m"])
        assert back.geometry.is_valid.all()
        assert shapely.equals_exact(back.geometry.to_numpy(), original.geometry.to_numpy(), 1e-6).all()


def test_empty_input_gives_empty_layers(rasters: tuple[Path, Path], tmp_path: Path) -> None:
    mask_path, prob_path = rasters
    polys, lines = vectorize_cracks(mask_path, prob_path, [], min_length_m=0.5)
    for gdf in (polys, lines):
        assert len(gdf) == 0
        assert list(gdf.columns) == [*COLUMNS, "geometry"]
        assert gdf.crs.to_epsg() == 32633
        assert gdf["crack_id"].dtype == np.int64 and gdf["length_m"].dtype == np.float64
    out = tmp_path / "empty.gpkg"
    write_cracks_gpkg(out, polys, lines)
    layers = dict(pyogrio.list_layers(out).tolist())
    assert layers == {POLYGON_LAYER: "MultiPolygon", CENTERLINE_LAYER: "MultiLineString"}
    back = gpd.read_file(out, layer=CENTERLINE_LAYER)
    assert len(back) == 0 and list(back.columns) == [*COLUMNS, "geometry"]


def test_input_errors(rasters: tuple[Path, Path], tmp_path: Path) -> None:
    mask_path, _ = rasters
    comps = components_of(mask_path)
    small = write_tif(tmp_path / "small.tif", np.zeros((10, 10), np.uint8))
    with pytest.raises(InvalidRasterError, match="does not match"):
        vectorize_cracks(mask_path, small, comps, min_length_m=0.5)
    with pytest.raises(InvalidRasterError, match="cannot open"):
        vectorize_cracks(tmp_path / "missing.tif", None, comps, min_length_m=0.5)
    wrong = [Component(1, 0, 0, 5, 5, 1, 1, 1)]
    with pytest.raises(InvalidRasterError, match="not a crack pixel"):
        vectorize_cracks(mask_path, None, wrong, min_length_m=0.5)
    outside = [Component(1, 190, 0, 210, 5, 1, 195, 1)]
    with pytest.raises(InvalidRasterError, match="outside"):
        vectorize_cracks(mask_path, None, outside, min_length_m=0.5)
    degrees = Affine.translation(15.0, 47.0) @ Affine.scale(1e-6, -1e-6)
    geo = write_tif(tmp_path / "geo.tif", scene()[0], degrees, "EPSG:4326")
    with pytest.raises(UnsupportedCRSError):
        vectorize_cracks(geo, None, comps, min_length_m=0.5)


def test_min_elongation_drops_blobs_keeps_cracks(tmp_path: Path) -> None:
    mask = np.zeros((120, 200), np.uint8)
    mask[20:26, 10:190] = 1  # a crack: 180 x 6 px
    yy, xx = np.mgrid[0:120, 0:200]
    mask[((yy - 80) / 9) ** 2 + ((xx - 100) / 16) ** 2 <= 1] = 1  # an oval blob, 32 x 18 px
    path = tmp_path / "mask.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=200,
        height=120,
        count=1,
        dtype="uint8",
        crs="EPSG:32633",
        transform=from_origin(500000, 5200000, 0.02, 0.02),
    ) as dst:
        dst.write(mask, 1)
    labeler = StripLabeler(200)
    labeler.add_strip(0, mask)
    comps = labeler.finish()
    kept, _ = vectorize_cracks(path, None, comps, min_length_m=0.0, min_elongation=3.0)
    everything, _ = vectorize_cracks(path, None, comps, min_length_m=0.0, min_elongation=0.0)
    assert len(everything) == 2 and len(kept) == 1
    assert kept.iloc[0]["length_m"] == pytest.approx(180 * 0.02, rel=0.03)


def test_max_mean_width_drops_broad_bands_and_prunes_the_mask(tmp_path: Path) -> None:
    mask = np.zeros((120, 200), np.uint8)
    mask[10:14, 10:190] = 1  # a crack: 4 px = 8 cm wide
    mask[40:60, 10:190] = 1  # a shade band: 20 px = 40 cm wide
    mask[90:94, 30:34] = 1  # a speck, too short
    mask[110:120, 0:200] = 255  # no data
    path = write_tif(tmp_path / "mask.tif", mask)
    comps = components_of(path)
    assert len(comps) == 3
    everything, _ = vectorize_cracks(path, None, comps, min_length_m=0.1)
    assert len(everything) == 2
    found = vectorize_features(path, None, comps, min_length_m=0.1, max_mean_width_m=0.3, prune_mask=True)
    kept = found.polygons
    assert len(kept) == 1 and kept.iloc[0]["mean_width_m"] == pytest.approx(0.08, abs=0.01)
    assert len(found.wide) == 1  # the band is kept for review, the speck is not
    assert found.wide.iloc[0]["mean_width_m"] == pytest.approx(0.40, abs=0.02)
    assert found.wide.iloc[0]["length_m"] == pytest.approx(3.6, rel=0.03)
    with rasterio.open(path) as src:
        pruned = src.read(1)
    expected = np.where(mask == 255, 255, 0).astype(np.uint8)
    expected[10:14, 10:190] = 1
    np.testing.assert_array_equal(pruned, expected)
    assert int((pruned == 1).sum()) == int(kept.iloc[0]["n_pixels"])


def test_width_limit_judges_a_branchy_blob_by_its_area(tmp_path: Path) -> None:
    mask = np.zeros((200, 300), np.uint8)
    mask[20:24, 10:290] = 1  # a crack: 4 px = 8 cm wide
    cv2.circle(mask, (150, 120), 16, 1, -1)  # a shade pocket 64 cm across with three thin spurs
    for angle in np.deg2rad([0.0, 120.0, 240.0]):
        tip = (int(150 + 70 * np.cos(angle)), int(120 + 70 * np.sin(angle)))
        cv2.line(mask, (150, 120), tip, 1, 4)
    path = write_tif(tmp_path / "mask.tif", mask)
    found = vectorize_features(path, None, components_of(path), min_length_m=0.1, max_mean_width_m=0.12)
    assert len(found.polygons) == 1 and found.polygons.iloc[0]["mean_width_m"] == pytest.approx(0.08, abs=0.01)
    blob = found.wide.iloc[0]
    assert len(found.wide) == 1 and blob["mean_width_m"] < 0.12 < blob["area_m2"] / blob["length_m"]


def noisy_scene(tmp_path: Path, seed: int = 3) -> tuple[Path, Path]:
    """Mask and probability rasters of many random lines, blobs and specks."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((H, W), np.uint8)
    for _ in range(40):
        p, q = rng.integers(0, [W, H], 2), rng.integers(0, [W, H], 2)
        q = p + (q - p) // int(rng.integers(2, 8))
        cv2.line(mask, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 1, int(rng.integers(1, 6)))
    mask |= (rng.random((H, W)) < 0.01).astype(np.uint8)
    prob = np.where(mask == 1, rng.uniform(0.5, 1.0, (H, W)), rng.uniform(0.0, 0.6, (H, W)))
    return write_tif(tmp_path / "mask.tif", mask), write_tif(
        tmp_path / "prob.tif", np.round(prob * 255).astype(np.uint8)
    )


def test_pruning_the_mask_does_not_change_the_cracks(tmp_path: Path) -> None:
    mask_path, prob_path = noisy_scene(tmp_path, seed=5)
    comps = components_of(mask_path)
    args: dict[str, Any] = {"min_length_m": 0.1, "min_elongation": 3.0, "max_mean_width_m": 0.06}
    kept = vectorize_features(mask_path, prob_path, comps, **args)
    pruned = vectorize_features(mask_path, prob_path, comps, prune_mask=True, **args)
    for a, b in ((kept.polygons, pruned.polygons), (kept.wide, pruned.wide)):
        assert len(a) == len(b) > 0
        assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    with rasterio.open(mask_path) as src:
        left = int((src.read(1) == 1).sum())
    assert left == int(pruned.polygons["n_pixels"].sum())


def test_band_and_batch_sizes_do_not_change_the_cracks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mask_path, prob_path = noisy_scene(tmp_path)
    comps = components_of(mask_path)
    args = {"min_length_m": 0.1, "min_elongation": 3.0}
    polys, lines = vectorize_cracks(mask_path, prob_path, comps, **args)
    assert 10 < len(polys) < len(comps)
    monkeypatch.setattr(features, "BAND_ROWS", 12)  # most components read in a band of their own
    monkeypatch.setattr(features, "BATCH_PIXELS", 2000)
    polys_b, lines_b = vectorize_cracks(mask_path, prob_path, comps, **args)
    for a, b in ((polys, polys_b), (lines, lines_b)):
        assert a["crack_id"].tolist() == b["crack_id"].tolist()
        for col in COLUMNS:
            np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-6, err_msg=col)
        assert shapely.equals_exact(a.geometry.to_numpy(), b.geometry.to_numpy(), 1e-9).all()


def test_each_crack_measured_as_from_its_own_window(tmp_path: Path) -> None:
    mask_path, prob_path = noisy_scene(tmp_path, seed=4)
    comps = components_of(mask_path)
    polys, _ = vectorize_cracks(mask_path, prob_path, comps, min_length_m=0.0)
    rows = iter(polys.itertuples())
    with rasterio.open(mask_path) as msrc, rasterio.open(prob_path) as psrc:
        for comp in comps:
            r0, c0 = max(comp.row0 - 2, 0), max(comp.col0 - 2, 0)
            win = Window(c0, r0, min(comp.col1 + 2, W) - c0, min(comp.row1 + 2, H) - r0)
            crack = (msrc.read(1, window=win) == 1).astype(np.uint8)
            _, labels = cv2.connectedComponents(crack, connectivity=8)
            own = labels == labels[comp.seed_row - r0, comp.seed_col - c0]
            prob = psrc.read(1, window=win).astype(np.float32) / np.float32(255)
            prob[(labels > 0) & ~own] = 0
            meas = measure_component(own, prob)
            if meas.length_px <= 0:
                continue
            row = next(rows)
            assert row.length_m == pytest.approx(meas.length_px * GSD, rel=1e-9)
            assert row.mean_width_m == pytest.approx(meas.mean_width_px * GSD, rel=1e-6)
            assert row.max_width_m == pytest.approx(meas.max_width_px * GSD, rel=1e-6)
            assert (row.n_pixels, row.n_branches) == (meas.area_px, len(meas.branches))
            assert row.mean_prob == pytest.approx(meas.mean_prob, rel=1e-12)
    assert next(rows, None) is None


def test_promote_keeps_multi_geometries_and_converts_others() -> None:
    ring = box(0, 0, 1, 1)
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # self-intersecting
    multi = MultiPolygon([ring])
    gdf = gpd.GeoDataFrame(geometry=[multi, ring, bowtie, None], crs="EPSG:32633")
    out = gpkg._promote(gdf, "MultiPolygon")
    assert out.geometry.iloc[0] is multi
    assert out.geometry.iloc[1].equals(multi) and out.geometry.iloc[1].geom_type == "MultiPolygon"
    assert out.geometry.iloc[2].is_valid and out.geometry.iloc[2].area == pytest.approx(2.0)
    assert out.geometry.iloc[3] is None


def test_verify_keeps_the_confirmed_cracks_and_the_rest_for_review(tmp_path: Path) -> None:
    mask = np.zeros((120, 200), np.uint8)
    mask[10:14, 10:190] = 1  # confirmed below
    mask[60:64, 10:190] = 1  # rejected below
    mask[90:94, 30:34] = 1  # a speck: never a candidate
    path = write_tif(tmp_path / "mask.tif", mask)
    comps = components_of(path)
    seen: list[int] = []

    def verify(lines: Any) -> np.ndarray:
        seen.append(len(lines))
        north = np.array([line.centroid.y for line in lines]) > ORIGIN[1] - 30 * GSD
        return np.where(north, 0.9, 0.2).astype(np.float32)

    found = vectorize_features(
        path, None, comps, min_length_m=0.1, prune_mask=True, verify=verify, verify_threshold=0.5
    )
    assert seen == [2]  # one call, with the two crack-shaped candidates
    assert len(found.polygons) == len(found.centerlines) == 1 and len(found.unconfirmed) == 1
    assert found.polygons.iloc[0]["verify_score"] == pytest.approx(0.9)
    assert found.unconfirmed.iloc[0]["verify_score"] == pytest.approx(0.2)
    assert found.polygons.iloc[0]["bbox_maxy"] > found.unconfirmed.iloc[0]["bbox_maxy"]
    assert found.polygons["crack_id"].tolist() == [1]
    with rasterio.open(path) as src:
        pruned = src.read(1)
    expected = np.zeros_like(mask)
    expected[10:14, 10:190] = 1
    np.testing.assert_array_equal(pruned, expected)
    unverified = vectorize_features(path, None, components_of(path), min_length_m=0.1)
    assert np.isnan(unverified.polygons["verify_score"]).all() and unverified.unconfirmed.empty
