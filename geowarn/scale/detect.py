"""The client side of a detect run on Dask: hand out blocks, check their edges, assemble the rasters."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from geowarn.errors import ClusterError
from geowarn.io.outputs import MASK_NAME, PROB_NAME, CrackRasters
from geowarn.io.raster import RasterInfo
from geowarn.logs import log_event
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.pipeline.rows import StageClock, TileStats, tile_grid
from geowarn.scale.blocks import BlockResult, BlockSpec, plan_blocks, run_block
from geowarn.scale.cluster import connect, parse_cluster, threads_per_worker
from geowarn.vectorize import StripLabeler

__all__ = ["run_tiles_on_cluster"]

log = logging.getLogger("geowarn.scale")

#: Rows copied at a time from a part into the run's rasters.
COPY_ROWS = 512
#: How often Dask may run a block again after an error in it (a lost worker is retried anyway).
RETRIES = 2


def run_tiles_on_cluster(
    info: RasterInfo,
    config: DetectConfig,
    staging: Path,
    clock: StageClock,
    on_block: Callable[[int, TileStats], None] | None = None,
) -> tuple[TileStats, StripLabeler, dict[str, Any]]:
    """Run every tile row on the cluster named by ``config.cluster``; fill ``staging`` as one process would.

    Returns the counts, the labelled crack components and a record of the cluster run (workers,
    blocks, blocks run again, each worker's peak memory) for ``run.json``.

    Raises:
        ClusterError: the cluster cannot be reached or was lost; ``staging`` is left to the caller to remove.

    """
    from distributed import KilledWorker

    spec = parse_cluster(config.cluster or "")
    grid = tile_grid(info, config)
    t0 = time.perf_counter()
    with connect(spec) as client:
        client.run(_warm_up)  # every worker imports the models' code now, not in its first block
        clock.add("cluster_start", time.perf_counter() - t0)
        workers = len(client.scheduler_info().get("workers", {})) or spec.workers or 1
        blocks = plan_blocks(grid.rows, workers)
        log_event(log, "cluster", address=spec.address or "local", workers=workers, blocks=len(blocks))
        threads = threads_per_worker(spec)

        def submit(block: BlockSpec, converge: dict[int, frozenset[int]] | None = None) -> Any:
            return client.submit(
                run_block, str(info.path), config, block, str(staging), threads, converge, pure=False, retries=RETRIES
            )

        futures = [submit(b) for b in blocks]
        results: list[BlockResult] = []
        runs: list[BlockResult] = []  # every run, patches included: the workers' busy time
        patches = 0
        try:
            for future in futures:
                result: BlockResult = future.result()
                runs.append(result)
                if results and result.spec.forced_halo != results[-1].forced_last:
                    # a crack runs into the block from above through tiles the gate rejected: run its
                    # first rows again from the true start, until they match the first run
                    true_start = results[-1].forced_last
                    spec_fixed = BlockSpec(result.spec.index, result.spec.first, result.spec.stop, true_start)
                    patch: BlockResult = submit(spec_fixed, result.forced_in).result()
                    runs.append(patch)
                    log_event(log, "block patched", block=result.spec.index, rows_run_again=len(patch.row_stats))
                    result = result.patched(patch)
                    patches += 1
                results.append(result)
                if on_block:
                    on_block((result.spec.stop - result.spec.first) * grid.cols, result.stats)
            peaks = client.run(_peak_rss_mb) if spec.local else {}
        except (OSError, TimeoutError, CancelledError) as exc:  # the scheduler went away (futures cancelled)
            raise ClusterError(
                f"cluster: lost the Dask cluster {spec.address or 'local'} during the run ({exc!r}); "
                "nothing was stored; run again when the scheduler is back"
            ) from exc
        except KilledWorker as exc:
            raise ClusterError(
                f"cluster: a block of tile rows killed {exc.last_worker.address if exc.last_worker else 'its'} "
                f"worker again and again ({exc}); check the workers' memory (each needs about 2 GB) and logs. "
                "Nothing was stored"
            ) from exc
    stats = TileStats()
    for result in results:
        stats.merge(result.stats)
    for run in runs:
        for stage, seconds in run.seconds.items():
            clock.add(f"workers_{stage}", seconds)
    t0 = time.perf_counter()
    labeler = _assemble(results, info, staging)
    clock.add("assemble", time.perf_counter() - t0)
    record = {
        "address": spec.address or f"local:{spec.workers}",
        "workers": workers,
        "blocks": len(blocks),
        "block_rows": blocks[0].stop - blocks[0].first if blocks else 0,
        "blocks_patched": patches,
        "rows_run_again": sum(len(r.row_stats) for r in runs) - grid.rows,
        "runs_per_worker": {w: sum(r.worker == w for r in runs) for w in sorted({r.worker for r in runs})},
        "worker_busy_s": {
            w: round(sum(r.seconds.get("block_wall", 0.0) for r in runs if r.worker == w), 3)
            for w in sorted({r.worker for r in runs})
        },
        "worker_peak_rss_mb": peaks,
    }
    return stats, labeler, record


def _warm_up() -> None:
    import geowarn.scale.blocks  # noqa: F401  (torch, torchvision, rasterio and the models' code)


def _peak_rss_mb() -> float:
    """Peak resident memory (MB) of the worker process it runs in, as the kernel counts it."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def _assemble(results: list[BlockResult], info: RasterInfo, staging: Path) -> StripLabeler:
    """Copy the blocks' pieces into the run's rasters in row order, labelling the crack pixels as they pass."""
    labeler = StripLabeler(info.width)
    with CrackRasters(staging, info) as out:
        for piece in (p for result in results for p in result.pieces):
            prob_path, mask_path = staging / (piece.prefix + PROB_NAME), staging / (piece.prefix + MASK_NAME)
            with rasterio.open(prob_path) as prob_src, rasterio.open(mask_path) as mask_src:
                for row in range(piece.start, piece.stop, COPY_ROWS):
                    n = min(COPY_ROWS, piece.stop - row)
                    window = Window(0, row - piece.part_row0, info.width, n)
                    prob, mask = prob_src.read(1, window=window), mask_src.read(1, window=window)
                    valid = prob_src.read_masks(1, window=window) > 0 if info.has_mask else np.ones(mask.shape, bool)
                    out.write_bytes(row, prob, valid, mask)
                    labeler.add_strip(row, mask == 1)
    for part in [*staging.glob("part-*"), *staging.glob("patch-*")]:  # used or not
        part.unlink()
    return labeler
