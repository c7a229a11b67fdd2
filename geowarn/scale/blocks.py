"""One block of tile rows on a Dask worker: read, run the cascade, write its part of the rasters.

A block is grid rows ``[first, stop)``. A block after the first runs row ``first - 1`` again as a
halo (see :mod:`geowarn.pipeline.rows`), starting it from ``forced_halo``: the tiles of that row
that a crack from the row above runs into. The client knows that set only once the block above
has run, so a block assumes it (empty: nearly always right) and says what it assumed; the client
runs it again with the true set when they differ. The result is then the same, pixel for pixel,
as one process running all rows in order.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import rasterio
import torch

from geowarn.faults import failpoint
from geowarn.inference.cascade import Cascade
from geowarn.io.outputs import CrackRasters
from geowarn.io.raster import open_orthomosaic
from geowarn.pipeline.detect_config import MODEL_SETTINGS, DetectConfig
from geowarn.pipeline.rows import FinishedRows, StageClock, TileStats, load_cascade, run_rows, tile_grid

__all__ = ["BlockResult", "BlockSpec", "Piece", "plan_blocks", "run_block"]

#: Models loaded on this worker process, by their settings: loaded once, used by every block.
_CASCADES: dict[str, Cascade] = {}


@dataclass(frozen=True)
class BlockSpec:
    """Grid rows ``[first, stop)`` of one run, and the halo row's incoming crack columns."""

    index: int
    first: int
    stop: int
    forced_halo: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Piece:
    """Raster rows ``[start, stop)`` of the run, held by the part files ``prefix*`` that begin at ``part_row0``."""

    prefix: str
    part_row0: int
    start: int
    stop: int


@dataclass
class BlockResult:
    """What workers made of a block: the pieces of its rows, and per grid row its counts and crack columns."""

    spec: BlockSpec
    pieces: list[Piece]
    row_stats: dict[int, TileStats]
    forced_in: dict[int, frozenset[int]]
    seconds: dict[str, float]
    worker: str

    @property
    def stats(self) -> TileStats:
        total = TileStats()
        for row in sorted(self.row_stats):
            total.merge(self.row_stats[row])
        return total

    @property
    def forced_last(self) -> frozenset[int]:
        """The columns of the block's last row that a crack from the row above ran into."""
        return self.forced_in[self.spec.stop - 1]

    def patched(self, patch: BlockResult) -> BlockResult:
        """The block with the rows that ``patch`` (a rerun from its true start) ran in their place."""
        last = max(patch.row_stats)
        cut = patch.pieces[0].stop
        rows = {r: (patch if r <= last else self) for r in self.row_stats}
        seconds = dict(self.seconds)
        for stage, value in patch.seconds.items():
            seconds[stage] = seconds.get(stage, 0.0) + value
        own = self.pieces[0]
        return BlockResult(
            self.spec,
            [patch.pieces[0], *([Piece(own.prefix, own.part_row0, cut, own.stop)] if cut < own.stop else [])],
            {r: src.row_stats[r] for r, src in rows.items()},
            {r: patch.forced_in[r] if r <= last else self.forced_in[r] for r in self.forced_in},
            seconds,
            patch.worker,
        )


def plan_blocks(rows: int, workers: int, min_rows: int = 4, max_rows: int = 32) -> list[BlockSpec]:
    """Blocks of consecutive grid rows: about three per worker, each ``min_rows``-``max_rows`` rows."""
    size = max(min_rows, min(max_rows, -(-rows // max(1, 3 * workers))))
    return [BlockSpec(i, a, min(a + size, rows)) for i, a in enumerate(range(0, rows, size))]


def _cascade(config: DetectConfig) -> Cascade:
    key = config.model_dump_json(include={*MODEL_SETTINGS, "device", "amp"})
    if key not in _CASCADES:
        _CASCADES[key] = load_cascade(config)
    return _CASCADES[key]


def run_block(
    input_path: str,
    config: DetectConfig,
    spec: BlockSpec,
    staging: str,
    threads: int = 0,
    converge: dict[int, frozenset[int]] | None = None,
) -> BlockResult:
    """Run one block on this worker and write its rows to part files in ``staging``.

    With ``converge`` (the ``forced_in`` of the block's first run) this is a patch: it stops after
    the first row that starts and ends as in the first run, and its part holds only the rows up to it.
    """
    started = time.perf_counter()
    if threads:
        torch.set_num_threads(threads)
    info = open_orthomosaic(Path(input_path), max_pixels=config.max_pixels)
    grid = tile_grid(info, config)
    cascade = _cascade(config)
    halo = spec.first > 0
    rows = range(spec.first - 1 if halo else spec.first, spec.stop)
    row0 = grid.final_rows(spec.first)[0]
    row1 = grid.final_rows(spec.stop - 1)[1]
    stats, clock = TileStats(), StageClock()
    folder = Path(staging)
    attempt = f".tmp-{uuid.uuid4().hex[:8]}-"
    prefix = f"{'patch' if converge else 'part'}-{spec.index:05d}-"
    with rasterio.open(info.path) as src, CrackRasters(folder, info, (row0, row1), attempt) as out:

        def finished(done: FinishedRows) -> None:
            out.write(done.row0, done.prob, done.valid, done.crack)
            failpoint("scale.block-started")

        run = run_rows(
            src,
            info,
            config,
            cascade,
            rows,
            finished,
            stats,
            clock,
            forced=spec.forced_halo,
            halo=halo,
            converge=converge,
        )
    for tmp in (out.prob_path, out.mask_path):
        os.replace(tmp, folder / (prefix + tmp.name[len(attempt) :]))
    clock.add("block_wall", time.perf_counter() - started)
    end = grid.final_rows(run.last_row)[1]
    forced_in = {r: f for r, f in run.forced_in.items() if r >= spec.first}
    return BlockResult(
        spec, [Piece(prefix, row0, row0, end)], run.row_stats, forced_in, clock.seconds, _worker_address()
    )


def _worker_address() -> str:
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:  # called outside a worker (tests, debugging)
        return "in-process"
