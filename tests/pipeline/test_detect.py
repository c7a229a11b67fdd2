from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import torch

from geowarn.cli import main
from geowarn.inference.cascade import LoadedModel
from geowarn.pipeline import detect as detect_module
from geowarn.pipeline.detect import detect
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.provenance import sha256_file
from tests.conftest import soil_rgb, write_geotiff

SMALL_TILES = DetectConfig(tile_core=64, tile_margin=8, min_crack_length_m=0.05)


def band_mask(height: int, width: int, p0: tuple[float, float], p1: tuple[float, float], w: float) -> np.ndarray:
    """Flat-ended band of full width ``w`` around segment p0-p1 ((x, y) pixel-centre coordinates)."""
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    t = ((xx - x0) * dx + (yy - y0) * dy) / (dx * dx + dy * dy)
    dist = np.abs((xx - x0) * dy - (yy - y0) * dx) / math.hypot(dx, dy)
    return (t >= 0) & (t <= 1) & (dist <= w / 2)


def crack_ortho(tmp_path: Path, name: str = "ortho.tif", **profile) -> tuple[Path, float]:
    """A 260 x 300 soil raster with one dark 5-px crack crossing several 64-px tile seams."""
    rgb = soil_rgb(260, 300, seed=1)
    p0, p1 = (20.0, 30.0), (280.0, 215.0)
    band = band_mask(260, 300, p0, p1, 5.0)
    rgb[:, band] = 25
    return write_geotiff(tmp_path / name, rgb, **profile), math.dist(p0, p1)


def test_crack_across_seams_is_one_feature_with_true_length(tmp_path: Path, toy_cascade) -> None:
    ortho, true_len_px = crack_ortho(tmp_path, tiled=True, blockxsize=64, blockysize=64)
    result = detect(ortho, tmp_path / "out", SMALL_TILES, cascade=toy_cascade, progress=False)
    assert result.n_cracks == 1
    polygons = gpd.read_file(result.outputs["cracks.gpkg"], layer="crack_polygons")
    lines = gpd.read_file(result.outputs["cracks.gpkg"], layer="crack_centerlines")
    assert len(polygons) == len(lines) == 1
    crack = polygons.iloc[0]
    assert crack["length_m"] == pytest.approx(true_len_px * 0.02, rel=0.03)
    assert crack["mean_width_m"] == pytest.approx(5 * 0.02, abs=0.5 * 0.02)
    assert crack["length_unc_m"] > 0 and crack["width_unc_m"] > 0
    assert 0 < crack["azimuth_deg"] < 180
    with rasterio.open(ortho) as src:
        crs, _transform = src.crs, src.transform
    assert polygons.crs == crs and lines.crs == crs
    assert lines.geometry.iloc[0].length == pytest.approx(true_len_px * 0.02, rel=0.05)


def test_rasters_are_cogs_on_the_input_grid(tmp_path: Path, toy_cascade) -> None:
    ortho, _ = crack_ortho(tmp_path)
    result = detect(ortho, tmp_path / "out", SMALL_TILES, cascade=toy_cascade, progress=False)
    with rasterio.open(ortho) as src:
        grid = (src.crs, src.transform, src.width, src.height)
    for name in ("crack_prob.tif", "crack_mask.tif"):
        with rasterio.open(result.outputs[name]) as ds:
            assert (ds.crs, ds.transform, ds.width, ds.height) == grid
            assert ds.dtypes[0] == "uint8" and ds.count == 1
            assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            data = ds.read(1)
        if name == "crack_mask.tif":
            assert set(np.unique(data)) <= {0, 1}
            assert 0.9 < data.sum() / band_mask(260, 300, (20, 30), (280, 215), 5).sum() < 1.1
        else:
            assert data.max() >= 250


def test_run_manifest_records_provenance(tmp_path: Path, toy_cascade) -> None:
    ortho, _ = crack_ortho(tmp_path)
    result = detect(ortho, tmp_path / "out", SMALL_TILES, cascade=toy_cascade, progress=False)
    run = json.loads(result.outputs["run.json"].read_text())
    assert run["input"]["sha256"] == sha256_file(ortho)
    assert run["models"]["segmenter"] == {
        "name": "toy-seg",
        "task": "segment",
        "weights_sha256": "0" * 64,
        "threshold": 0.5,
    }
    assert run["config"]["tile_core"] == 64
    assert run["environment"]["geowarn"]
    assert run["counts"]["tiles_total"] == 5 * 5 and run["counts"]["cracks"] == 1
    assert {"read", "classify", "segment", "vectorize", "cog", "total"} <= set(run["timings_s"])


def test_nodata_areas_hold_no_cracks(tmp_path: Path, toy_cascade) -> None:
    rgb = soil_rgb(128, 128, seed=2)
    rgb[:, :, 60:66] = 20  # vertical dark line through both halves
    alpha = np.full((1, 128, 128), 255, np.uint8)
    alpha[:, :64, :] = 0  # top half is no-data
    ortho = write_geotiff(tmp_path / "rgba.tif", np.concatenate([rgb, alpha]), photometric="rgb", alpha="yes")
    result = detect(ortho, tmp_path / "out", SMALL_TILES, cascade=toy_cascade, progress=False)
    with rasterio.open(result.outputs["crack_mask.tif"]) as ds:
        mask = ds.read(1)
        assert ds.nodata == 255
    assert (mask[:64] == 255).all()
    assert mask[64:, 60:66].all() and mask[64:, :50].max() == 0
    with rasterio.open(result.outputs["crack_prob.tif"]) as ds:
        valid = ds.dataset_mask()
    assert (valid[:64] == 0).all() and (valid[64:] == 255).all()


def test_mask_marks_exactly_the_reported_cracks(tmp_path: Path, toy_cascade) -> None:
    rgb = soil_rgb(200, 260, seed=3)
    rgb[:, band_mask(200, 260, (20.0, 30.0), (240.0, 40.0), 4.0)] = 25  # a crack, 8 cm wide
    rgb[:, band_mask(200, 260, (20.0, 120.0), (240.0, 130.0), 24.0)] = 25  # a shade band, 48 cm wide
    rgb[:, 170:173, 100:103] = 25  # a speck
    ortho = write_geotiff(tmp_path / "ortho.tif", rgb)
    result = detect(ortho, tmp_path / "out", SMALL_TILES, cascade=toy_cascade, progress=False)
    assert result.n_cracks == 1
    polygons = gpd.read_file(result.outputs["cracks.gpkg"], layer="crack_polygons")
    assert polygons.iloc[0]["mean_width_m"] < 0.15
    with rasterio.open(result.outputs["crack_mask.tif"]) as ds:
        mask = ds.read(1)
    assert int(mask.sum()) == result.counts["crack_pixels"] == int(polygons.iloc[0]["n_pixels"])
    assert mask[60:, :].max() == 0  # band and speck are gone from the mask
    assert result.counts["thresholded_pixels"] > 5 * result.counts["crack_pixels"]
    wide_layer = gpd.read_file(result.outputs["cracks.gpkg"], layer="wide_features")
    assert len(wide_layer) == result.counts["wide_features"] == 1  # the band, for review; the speck is gone
    assert wide_layer.iloc[0]["mean_width_m"] > 0.3
    wide = detect(
        ortho, tmp_path / "wide", SMALL_TILES.model_copy(update={"max_crack_width_m": None}), cascade=toy_cascade
    )
    assert wide.n_cracks == 2


def test_gated_out_tiles_are_not_segmented(tmp_path: Path, toy_cascade) -> None:
    ortho = write_geotiff(tmp_path / "plain.tif", soil_rgb(128, 128))
    result = detect(ortho, tmp_path / "out", SMALL_TILES, cascade=toy_cascade, progress=False)
    assert result.counts["tiles_positive"] == 0 and result.n_cracks == 0
    assert len(gpd.read_file(result.outputs["cracks.gpkg"], layer="crack_polygons")) == 0


def test_failed_run_keeps_earlier_outputs_and_leaves_no_partial_files(tmp_path, toy_cascade, monkeypatch) -> None:
    ortho, _ = crack_ortho(tmp_path)
    out = tmp_path / "out"
    first = detect(ortho, out, SMALL_TILES, cascade=toy_cascade, progress=False)
    before = {name: sha256_file(p) for name, p in first.outputs.items()}

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(detect_module, "write_cracks_gpkg", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        detect(ortho, out, SMALL_TILES, cascade=toy_cascade, progress=False)
    assert sorted(p.name for p in out.iterdir()) == sorted(before)
    assert {name: sha256_file(out / name) for name in before} == before


@pytest.mark.parametrize("content", [b"", b"not a tiff at all"])
def test_cli_bad_input_exit_code_and_no_outputs(tmp_path: Path, capsys, content: bytes) -> None:
    bad = tmp_path / "bad.tif"
    bad.write_bytes(content)
    out = tmp_path / "out"
    assert main(["detect", str(bad), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Fix:" in err
    assert not out.exists() or not any(out.iterdir())


def test_cli_geographic_crs_exit_code(tmp_path: Path, capsys, make_geotiff) -> None:
    from rasterio.transform import from_origin

    ortho = make_geotiff(crs="EPSG:4326", transform=from_origin(15.5, 46.5, 2e-7, 2e-7))
    assert main(["detect", str(ortho), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "gdalwarp -t_srs EPSG:32633" in capsys.readouterr().err


def test_resampling_to_model_gsd_keeps_input_grid(tmp_path: Path, toy_cascade) -> None:
    ortho, true_len_px = crack_ortho(tmp_path)
    config = DetectConfig(tile_core=64, tile_margin=8, min_crack_length_m=0.05, target_gsd_m=0.03)
    result = detect(ortho, tmp_path / "out", config, cascade=toy_cascade, progress=False)
    with rasterio.open(ortho) as src, rasterio.open(result.outputs["crack_mask.tif"]) as mask:
        assert (mask.transform, mask.width, mask.height) == (src.transform, src.width, src.height)
    assert result.manifest["config"]["target_gsd_m"] == 0.03
    assert result.n_cracks == 1
    assert result.total_length_m == pytest.approx(true_len_px * 0.02, rel=0.05)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_progress_lines_when_not_a_terminal(tmp_path: Path, toy_cascade) -> None:
    ortho, _ = crack_ortho(tmp_path)
    handler, logger = _Collect(), logging.getLogger("geowarn.detect")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        detect(ortho, tmp_path / "out", SMALL_TILES, cascade=toy_cascade, progress=False)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    progress = [r for r in handler.records if r.getMessage() == "progress"]
    assert progress and progress[-1].tiles_done == progress[-1].tiles_total == 25
    assert hasattr(progress[-1], "eta_s") and hasattr(progress[-1], "tiles_per_s")


class _SeedOnlyGate(torch.nn.Module):
    """Gate that fires only on near-black pixels (the crack's seed spot), not on the crack."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (-1.9 - x.mean(dim=1).amin(dim=(1, 2))) * 20.0


def test_crack_following_segments_tiles_the_gate_missed(tmp_path: Path, toy_cascade) -> None:
    rgb = soil_rgb(260, 300, seed=3)
    p0, p1 = (20.0, 20.0), (280.0, 230.0)
    band = band_mask(260, 300, p0, p1, 5.0)
    rgb[:, band] = 25
    rgb[:, 18:24, 18:24] = 1  # only this spot convinces the gate
    ortho = write_geotiff(tmp_path / "seed.tif", rgb)
    gate = toy_cascade.classifier
    toy_cascade.classifier = LoadedModel(gate.spec, _SeedOnlyGate().eval(), gate.sha256, 0.5)
    result = detect(ortho, tmp_path / "out", SMALL_TILES, cascade=toy_cascade, progress=False)
    assert result.counts["tiles_positive"] == 1
    assert result.counts["tiles_followed"] >= 6
    assert result.n_cracks == 1
    assert result.total_length_m == pytest.approx(math.dist(p0, p1) * 0.02, rel=0.05)


def test_staging_left_by_a_killed_run_is_removed(tmp_path: Path, toy_cascade) -> None:
    ortho, _ = crack_ortho(tmp_path)
    out = tmp_path / "out"
    stale = out / ".geowarn-staging-999999999-deadbeef"  # no such process
    stale.mkdir(parents=True)
    (stale / "crack_prob.tif").write_bytes(b"half written")
    detect(ortho, out, SMALL_TILES, cascade=toy_cascade, progress=False)
    assert not stale.exists()
    assert sorted(p.name for p in out.iterdir()) == ["crack_mask.tif", "crack_prob.tif", "cracks.gpkg", "run.json"]


class BlueCentreDarkness(torch.nn.Module):
    """Toy verifier: positive when the middle of the patch is dark in the blue band."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        centre = x[:, 2, h // 2 - h // 16 : h // 2 + h // 16, w // 2 - w // 16 : w // 2 + w // 16]
        return (-1.0 - centre.amin(dim=(1, 2))) * 20.0


def test_verifier_reports_the_confirmed_cracks_and_keeps_the_others_for_review(tmp_path: Path, toy_cascade) -> None:
    from geowarn.models.registry import ModelSpec
    from geowarn.pipeline.report import detect_summary

    rgb = soil_rgb(200, 260, seed=3)
    rgb[:, band_mask(200, 260, (20.0, 30.0), (240.0, 40.0), 4.0)] = 25  # dark in every band: confirmed
    rgb[:, band_mask(200, 260, (20.0, 130.0), (240.0, 140.0), 4.0)] = np.array([10, 10, 100], np.uint8)[:, None]
    ortho = write_geotiff(tmp_path / "ortho.tif", rgb)
    spec = ModelSpec("toy-verify", "classify", BlueCentreDarkness, input_scale=0.5)
    toy_cascade.verifier = LoadedModel(spec, BlueCentreDarkness().eval(), "2" * 64, 0.5)
    result = detect(ortho, tmp_path / "out", SMALL_TILES, cascade=toy_cascade, progress=False)
    assert result.n_cracks == 1 and result.counts["unconfirmed_features"] == 1
    layers = {
        n: gpd.read_file(result.outputs["cracks.gpkg"], layer=n) for n in ("crack_polygons", "unconfirmed_features")
    }
    assert (
        layers["crack_polygons"].iloc[0]["verify_score"] > 0.5 > layers["unconfirmed_features"].iloc[0]["verify_score"]
    )
    with rasterio.open(result.outputs["crack_mask.tif"]) as ds:
        mask = ds.read(1)
    assert mask[:80].sum() == result.counts["crack_pixels"] > 0 and mask[80:].max() == 0
    assert "1 crack-shaped feature(s) the verifier did not confirm" in detect_summary(result)
    assert result.manifest["models"]["verifier"]["weights_sha256"] == "2" * 64
