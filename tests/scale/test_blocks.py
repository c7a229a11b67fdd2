"""Blocks of tile rows give the single-process result, also when cracks cross block edges.

Runs the client side against an in-process stand-in for a Dask client (a thread pool), with the
toy cascade, so that the hand-over between blocks can be forced: the gate fires only on one spot
and the crack is followed from tile to tile, down across every block edge.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from geowarn.inference.cascade import Cascade, LoadedModel
from geowarn.pipeline.detect import detect
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.scale import blocks as blocks_module
from geowarn.scale import detect as scale_detect
from geowarn.scale.blocks import BlockSpec, plan_blocks
from tests.conftest import soil_rgb, write_geotiff
from tests.pipeline.test_detect import SMALL_TILES, _SeedOnlyGate, band_mask


class InProcessClient:
    """The two calls the client side makes of a Dask client, run on a thread pool."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(2)
        self.blocks: list[BlockSpec] = []

    def submit(self, fn: Any, *args: Any, pure: bool = True, retries: int = 0) -> Future[Any]:
        self.blocks.append(args[2])
        return self.pool.submit(fn, *args)

    def scheduler_info(self) -> dict[str, Any]:
        return {"workers": {"w1": {}, "w2": {}}}

    def run(self, fn: Any) -> dict[str, Any]:
        return {"w1": fn()}


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, toy_cascade: Cascade) -> InProcessClient:
    client = InProcessClient()

    @contextmanager
    def connect(spec: Any) -> Iterator[InProcessClient]:
        yield client

    gate = toy_cascade.classifier
    assert gate is not None
    toy_cascade.classifier = LoadedModel(gate.spec, _SeedOnlyGate().eval(), gate.sha256, 0.5)
    monkeypatch.setattr(scale_detect, "connect", connect)
    monkeypatch.setattr(blocks_module, "_cascade", lambda config: toy_cascade)
    monkeypatch.setattr(scale_detect, "plan_blocks", lambda rows, workers: plan_blocks(rows, workers, 1, 1))
    return client


def followed_crack(tmp_path: Path) -> tuple[Path, float]:
    rgb = soil_rgb(260, 300, seed=3)
    p0, p1 = (20.0, 20.0), (280.0, 230.0)
    rgb[:, band_mask(260, 300, p0, p1, 5.0)] = 25
    rgb[:, 18:24, 18:24] = 1  # only this spot convinces the gate
    return write_geotiff(tmp_path / "seed.tif", rgb), math.dist(p0, p1)


def assert_same_outputs(a: Path, b: Path) -> None:
    for name in ("crack_prob.tif", "crack_mask.tif"):
        with rasterio.open(a / name) as x, rasterio.open(b / name) as y:
            np.testing.assert_array_equal(x.read(), y.read(), err_msg=name)
            np.testing.assert_array_equal(x.read_masks(1), y.read_masks(1), err_msg=name)
            assert (x.transform, x.crs) == (y.transform, y.crs)
    for layer in ("crack_polygons", "crack_centerlines"):
        fa, fb = (gpd.read_file(d / "cracks.gpkg", layer=layer) for d in (a, b))
        assert len(fa) == len(fb)
        assert fa.drop(columns="geometry").equals(fb.drop(columns="geometry")), layer
        assert fa.geometry.geom_equals_exact(fb.geometry, 0.0).all(), layer


def test_blocks_hand_cracks_over_and_match_one_process(
    tmp_path: Path, toy_cascade: Cascade, in_process: InProcessClient
) -> None:
    ortho, length_px = followed_crack(tmp_path)
    single = detect(ortho, tmp_path / "single", SMALL_TILES, cascade=toy_cascade, progress=False)
    config = SMALL_TILES.model_copy(update={"cluster": "local:2"})
    blocks = detect(ortho, tmp_path / "blocks", config, cascade=toy_cascade, progress=False)
    assert single.counts["tiles_positive"] == 1 and single.counts["tiles_followed"] >= 6
    assert blocks.counts == single.counts
    assert blocks.n_cracks == 1
    assert blocks.total_length_m == pytest.approx(length_px * 0.02, rel=0.05)
    assert_same_outputs(tmp_path / "single", tmp_path / "blocks")
    rows = math.ceil(260 / 64)
    assert len({b.index for b in in_process.blocks}) == rows  # one row per block
    reruns = [b for b in in_process.blocks if b.forced_halo]
    assert reruns, "the crack crosses every block edge in a tile the gate rejected: blocks must be patched"
    record = json.loads((tmp_path / "blocks" / "run.json").read_text())["cluster"]
    assert record["blocks_patched"] == len(reruns)
    assert not list((tmp_path / "blocks").glob("part-*")) and not list((tmp_path / "blocks").glob(".geowarn-*"))


def test_plan_covers_every_row_once() -> None:
    for rows in (1, 3, 7, 40, 79, 500):
        for workers in (1, 2, 8):
            spans = [(b.first, b.stop) for b in plan_blocks(rows, workers)]
            assert spans[0][0] == 0 and spans[-1][1] == rows
            assert all(a[1] == b[0] and a[0] < a[1] for a, b in itertools.pairwise(spans))
            assert all(b - a <= 32 for a, b in spans)


def test_cluster_setting_is_checked() -> None:
    from geowarn.errors import ConfigError
    from geowarn.pipeline.detect_config import load_detect_config

    assert DetectConfig(cluster="local:2").cluster == "local:2"
    assert DetectConfig(cluster=" none ").cluster is None
    assert DetectConfig(cluster="tcp://10.0.0.5:8786").cluster == "tcp://10.0.0.5:8786"
    with pytest.raises(ConfigError, match=r"cluster.*'local:two'.*local:N"):
        load_detect_config(None, {"cluster": "local:two"})


def test_a_patch_stops_where_the_block_runs_as_before(
    tmp_path: Path, toy_cascade: Cascade, in_process: InProcessClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crack from block 0 ends inside block 1: block 1 is run again only down to where it matches."""
    rgb = soil_rgb(320, 300, seed=4)
    rgb[:, band_mask(320, 300, (20.0, 20.0), (110.0, 150.0), 5.0)] = 25  # rows 0-2 of 64-px tiles
    rgb[:, 18:24, 18:24] = 1  # only this spot convinces the gate
    ortho = write_geotiff(tmp_path / "short.tif", rgb)
    monkeypatch.setattr(scale_detect, "plan_blocks", lambda rows, workers: [BlockSpec(0, 0, 2), BlockSpec(1, 2, 5)])
    single = detect(ortho, tmp_path / "single", SMALL_TILES, cascade=toy_cascade, progress=False)
    config = SMALL_TILES.model_copy(update={"cluster": "local:2"})
    blocks = detect(ortho, tmp_path / "blocks", config, cascade=toy_cascade, progress=False)
    assert single.counts["tiles_followed"] >= 2 and single.n_cracks == 1
    assert blocks.counts == single.counts
    assert_same_outputs(tmp_path / "single", tmp_path / "blocks")
    record = json.loads((tmp_path / "blocks" / "run.json").read_text())["cluster"]
    assert record["blocks_patched"] == 1
    assert record["rows_run_again"] == 2  # rows 2 and 3 of block 1 again, not row 4
