"""Tile rows through the cascade: gate, segment, follow cracks across seams, blend, threshold.

:func:`run_rows` is the one loop over grid rows that both the single-process detect path and
each Dask block (:mod:`geowarn.scale`) run, so that both give the same pixels. A block that
starts at grid row ``a > 0`` first runs row ``a - 1`` as a *halo*: the tiles of that row are
segmented again only to complete the blend of the overlap above row ``a`` and to know which
tiles of row ``a`` a crack runs into; its own finished rows belong to the block above.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np
import rasterio
from numpy.typing import NDArray

from geowarn.device import pick_device, pick_precision
from geowarn.inference.cascade import (
    DEFAULT_GATE_THRESHOLD,
    DEFAULT_PROB_THRESHOLD,
    DEFAULT_VERIFY_THRESHOLD,
    Cascade,
    LoadedModel,
    load_model,
)
from geowarn.inference.tiles import TileRow, fill_invalid, read_tile_row
from geowarn.io.raster import RasterInfo
from geowarn.models.preprocess import resize_stack
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.tiling.blend import RowBlender
from geowarn.tiling.grid import TileGrid

__all__ = [
    "FinishedRows",
    "RowRun",
    "StageClock",
    "TileStats",
    "edge_neighbours",
    "load_cascade",
    "process_row",
    "run_rows",
]


@dataclass
class StageClock:
    """Seconds spent per stage (stages may overlap when run in threads)."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        """Add ``seconds`` to ``stage``."""
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


@dataclass
class TileStats:
    """Tile and pixel counts of a run (or of a block of tile rows)."""

    total: int = 0
    nodata: int = 0
    classified: int = 0
    positive: int = 0
    followed: int = 0
    segmented: int = 0
    thresholded_pixels: int = 0
    valid_pixels: int = 0

    def merge(self, other: TileStats) -> None:
        """Add another block's counts."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def edge_neighbours(crack: NDArray[np.bool_], col: int, band: int) -> tuple[set[int], set[int]]:
    """Columns a crack runs into: (same row: left/right, next row: below incl. diagonals).

    A crack counts as running into a neighbour when at least ``band`` crack pixels lie in the
    ``band``-px overlap strip on that side (a crack crossing the strip, not a speck).
    """

    def runs(region: NDArray[np.bool_]) -> bool:
        return int(region.sum()) >= band

    same: set[int] = set()
    if runs(crack[:, :band]):
        same.add(col - 1)
    if runs(crack[:, -band:]):
        same.add(col + 1)
    below: set[int] = set()
    bottom = crack[-band:]
    if runs(bottom):
        below.add(col)
        if runs(bottom[:, :band]):
            below.add(col - 1)
        if runs(bottom[:, -band:]):
            below.add(col + 1)
    return same, below


def process_row(
    tile_row: TileRow,
    grid: TileGrid,
    cascade: Cascade,
    config: DetectConfig,
    scale: float,
    blender: RowBlender,
    stats: TileStats,
    clock: StageClock,
    forced: set[int],
) -> set[int]:
    """Gate and segment the tiles of one grid row and blend them in.

    Crack following: a tile the gate rejected is segmented anyway when a crack segmented in a
    neighbour runs into it (left, right, or from the row above via ``forced``), so a crack is not
    cut at a seam by one gate miss. Returns the columns of the next row that cracks run into.
    """
    tiles: dict[int, NDArray[np.uint8]] = {}
    for col in range(grid.cols):
        stats.total += 1
        rgb, valid = tile_row.tile(grid, col)
        if not valid.any():
            stats.nodata += 1
            continue
        tiles[col] = rgb if valid.all() else fill_invalid(rgb, valid)
    if not tiles:
        return set()
    cols = list(tiles)
    batch = np.stack([tiles[c] for c in cols])
    model_side = round(grid.size * scale)
    if model_side != grid.size:
        batch = resize_stack(batch, model_side, model_side)
    t0 = time.perf_counter()
    gate = cascade.classify(batch, config.classify_batch)
    clock.add("classify", time.perf_counter() - t0)
    stats.classified += len(batch)
    gate_threshold = cascade.classifier.threshold if cascade.classifier else 0.0
    positive = {c for c, g in zip(cols, gate, strict=True) if g >= gate_threshold}
    stats.positive += len(positive)
    queue = sorted(positive | (forced & tiles.keys()))
    stats.followed += len(queue) - len(positive)
    index = {c: i for i, c in enumerate(cols)}
    band = max(2 * grid.margin, 1)
    segment_batch = config.segment_batch or (32 if cascade.device.type == "cuda" else 4)
    next_forced: set[int] = set()
    done: set[int] = set()
    while queue:
        t0 = time.perf_counter()
        probs = cascade.segment(batch[[index[c] for c in queue]], segment_batch)
        clock.add("segment", time.perf_counter() - t0)
        if model_side != grid.size:
            probs = resize_stack(probs, grid.size, grid.size, cv2.INTER_LINEAR)
        t0 = time.perf_counter()
        follow: set[int] = set()
        for col, prob in zip(queue, probs, strict=True):
            _, valid = tile_row.tile(grid, col)
            prob = np.where(valid, prob, 0.0).astype(np.float32)
            blender.add(tile_row.row, col, prob)
            same, below = edge_neighbours(prob >= cascade.segmenter.threshold, col, band)
            follow |= same
            next_forced |= below
        done.update(queue)
        clock.add("stitch", time.perf_counter() - t0)
        queue = sorted((follow & tiles.keys()) - done)
        stats.followed += len(queue)
    stats.segmented += len(done)
    return {c for c in next_forced if 0 <= c < grid.cols}


@dataclass
class FinishedRows:
    """Raster rows whose probability no later tile row changes."""

    grid_row: int
    row0: int
    prob: NDArray[np.float32]
    valid: NDArray[np.bool_]
    crack: NDArray[np.bool_]


@dataclass
class RowRun:
    """What a run of rows handed on.

    Per grid row, the columns a crack from above ran into (``forced_in``) and its counts
    (``row_stats``, halo excepted); ``forced_out`` below ``last_row``, the last row run.
    """

    forced_in: dict[int, frozenset[int]]
    forced_out: frozenset[int]
    row_stats: dict[int, TileStats]
    last_row: int


def load_cascade(config: DetectConfig) -> Cascade:
    """Load the configured models onto the chosen device."""
    device = pick_device(config.device)
    segmenter = load_model(
        config.segmenter, config.segmenter_weights, config.prob_threshold, DEFAULT_PROB_THRESHOLD, device
    )
    classifier: LoadedModel | None = None
    if config.classifier:
        classifier = load_model(
            config.classifier, config.classifier_weights, config.gate_threshold, DEFAULT_GATE_THRESHOLD, device
        )
    verifier: LoadedModel | None = None
    if config.verifier:
        verifier = load_model(
            config.verifier, config.verifier_weights, config.verify_threshold, DEFAULT_VERIFY_THRESHOLD, device
        )
    return Cascade(segmenter, classifier, device, pick_precision(device, config.amp).dtype, verifier)


def model_scale(info: RasterInfo, config: DetectConfig) -> float:
    """Model pixels per raster pixel (``target_gsd_m`` resampling), 1 without it."""
    return info.gsd_m / config.target_gsd_m if config.target_gsd_m else 1.0


def tile_grid(info: RasterInfo, config: DetectConfig) -> TileGrid:
    """The tile grid of a raster, in raster pixels."""
    scale = model_scale(info, config)
    return TileGrid(info.width, info.height, max(8, round(config.tile_core / scale)), round(config.tile_margin / scale))


def run_rows(
    src: rasterio.io.DatasetReader,
    info: RasterInfo,
    config: DetectConfig,
    cascade: Cascade,
    rows: range,
    on_rows: Callable[[FinishedRows], None],
    stats: TileStats,
    clock: StageClock,
    *,
    forced: frozenset[int] = frozenset(),
    halo: bool = False,
    converge: Mapping[int, frozenset[int]] | None = None,
) -> RowRun:
    """Run grid rows ``rows`` in order; hand each row's finished raster rows to ``on_rows``.

    Reading the next row and writing the last one (``on_rows``, called in order on one writer
    thread) overlap the models' work on the current row; each waits for at most one row.

    ``forced`` are the columns of the first row that a crack from the row above runs into. With
    ``halo``, the first row is run only to blend into the next one: its finished rows are not
    handed on and its tiles are not counted.

    ``converge`` (the ``forced_in`` of an earlier run of the same rows from another start) stops
    the run after the first row that both started and ended as there: from the next row on, the
    earlier run's rows are what this one would compute.
    """
    grid = tile_grid(info, config)
    scale = model_scale(info, config)
    blender = RowBlender(grid, first_row=rows.start)
    threshold = cascade.segmenter.threshold
    forced_in: dict[int, frozenset[int]] = {}
    per_row: dict[int, TileStats] = {}
    current = set(forced)
    last = rows.start
    with (
        ThreadPoolExecutor(1, thread_name_prefix="geowarn-read") as reader,
        ThreadPoolExecutor(1, thread_name_prefix="geowarn-write") as writer,
    ):
        pending: Future[TileRow] = reader.submit(read_tile_row, src, info, grid, rows.start)
        written: Future[None] | None = None
        for row in rows:
            t0 = time.perf_counter()
            tile_row = pending.result()
            clock.add("read_wait", time.perf_counter() - t0)
            clock.add("read", tile_row.read_seconds)
            if row + 1 < rows.stop:
                pending = reader.submit(read_tile_row, src, info, grid, row + 1)
            is_halo = halo and row == rows.start
            forced_in[row] = frozenset(current)
            row_stats = TileStats()
            current = process_row(tile_row, grid, cascade, config, scale, blender, row_stats, clock, current)
            last = row
            t0 = time.perf_counter()
            row0, prob = blender.finish_row()
            if is_halo:
                continue
            a = row0 - (row * grid.core - grid.margin)
            valid = tile_row.valid[a : a + len(prob), grid.margin : grid.margin + info.width]
            crack = (prob >= threshold) & valid
            row_stats.thresholded_pixels = int(crack.sum())
            row_stats.valid_pixels = int(valid.sum())
            per_row[row] = row_stats
            stats.merge(row_stats)
            clock.add("threshold", time.perf_counter() - t0)
            t0 = time.perf_counter()
            if written is not None:
                written.result()  # one row at most waits to be written while the next is computed
            written = writer.submit(on_rows, FinishedRows(row, row0, prob, valid, crack))
            clock.add("write_wait", time.perf_counter() - t0)
            if (
                converge is not None
                and converge.get(row) == forced_in[row]
                and converge.get(row + 1) == frozenset(current)
            ):
                break
        if written is not None:
            written.result()
    return RowRun(forced_in, frozenset(current), per_row, last)
