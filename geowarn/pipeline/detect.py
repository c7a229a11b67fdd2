"""``geowarn detect``: orthomosaic -> crack probability/mask COGs, crack features, run.json.

Stages: validate the input; read tile rows (prefetched in a thread, block-aligned); gate tiles
with the classifier; segment positive tiles; blend overlapping tiles row by row and write the
finished rows at once; label connected crack pixels strip by strip; measure and vectorise each
crack, dropping components that are not crack-shaped (too short, not elongated, too wide) from
the features and from the mask, so ``crack_mask.tif`` marks exactly the reported cracks (the
thresholded probability is ``crack_prob.tif >= threshold``); convert the rasters to COGs.
Outputs go to a staging folder inside ``--out`` and are moved into place only when everything
succeeded, so a failed run leaves no half-written files and never destroys the outputs of an
earlier run.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rasterio
import torch
from tqdm import tqdm

from geowarn.errors import OutputError
from geowarn.inference.cascade import (
    Cascade,
    LoadedModel,
)
from geowarn.inference.verify import CrackVerifier
from geowarn.io.outputs import GPKG_NAME, MASK_NAME, PROB_NAME, CrackRasters, to_cog
from geowarn.io.raster import RasterInfo, open_orthomosaic
from geowarn.logs import log_event
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.pipeline.rows import FinishedRows, StageClock, TileStats, load_cascade, model_scale, run_rows, tile_grid
from geowarn.provenance import environment, sha256_file, utc_now, write_json_atomic
from geowarn.redact import redact_tree
from geowarn.store.lease import pid_alive
from geowarn.tiling.grid import TileGrid
from geowarn.vectorize import StripLabeler, vectorize_features, write_cracks_gpkg
from geowarn.vectorize.features import Verify

log = logging.getLogger("geowarn.detect")

RUN_NAME = "run.json"
#: Ground sample distances (m) for which crack-scale features are visible to the shipped models.
MODEL_GSD_RANGE_M = (0.003, 0.05)


@dataclass
class DetectResult:
    """Where the outputs are and what was found."""

    out_dir: Path
    outputs: dict[str, Path]
    counts: dict[str, int]
    n_cracks: int
    total_length_m: float
    seconds: dict[str, float]
    manifest: dict[str, Any]


class _Progress:
    """A tqdm bar on terminals; periodic parseable log lines otherwise."""

    def __init__(self, total: int, enabled: bool | None, quiet: bool) -> None:
        show_bar = (sys.stderr.isatty() if enabled is None else enabled) and not quiet
        self.bar = tqdm(total=total, unit="tile", disable=not show_bar, file=sys.stderr, dynamic_ncols=True)
        self.log_lines = not show_bar and not quiet
        self.total = total
        self.done = 0
        self.start = time.perf_counter()
        self.last_log = self.start

    def update(self, n: int, positives: int) -> None:
        self.done += n
        self.bar.update(n)
        self.bar.set_postfix(crack_tiles=positives, refresh=False)
        now = time.perf_counter()
        if self.log_lines and (now - self.last_log > 10 or self.done == self.total):
            rate = self.done / max(now - self.start, 1e-9)
            log_event(
                log,
                "progress",
                tiles_done=self.done,
                tiles_total=self.total,
                tiles_per_s=round(rate, 1),
                eta_s=round((self.total - self.done) / max(rate, 1e-9), 1),
                crack_tiles=positives,
            )
            self.last_log = now

    def close(self) -> None:
        self.bar.close()


def _run_tiles(
    info: RasterInfo,
    config: DetectConfig,
    cascade: Cascade,
    staging: Path,
    progress: bool | None,
    quiet: bool,
    clock: StageClock,
) -> tuple[TileStats, StripLabeler]:
    grid = tile_grid(info, config)
    labeler = StripLabeler(info.width)
    stats = TileStats()
    bar = _Progress(len(grid), progress, quiet)
    _log_tiling(info, config, grid)
    with (
        rasterio.open(info.path) as src,
        CrackRasters(staging, info) as out,
    ):

        def finished(rows: FinishedRows) -> None:
            out.write(rows.row0, rows.prob, rows.valid, rows.crack)
            labeler.add_strip(rows.row0, rows.crack)
            bar.update(grid.cols, stats.positive)

        run_rows(src, info, config, cascade, range(grid.rows), finished, stats, clock)
    bar.close()
    return stats, labeler


def _run_tiles_on_cluster(
    info: RasterInfo, config: DetectConfig, staging: Path, progress: bool | None, quiet: bool, clock: StageClock
) -> tuple[TileStats, StripLabeler, dict[str, Any]]:
    from geowarn.scale.detect import run_tiles_on_cluster

    grid = tile_grid(info, config)
    bar = _Progress(len(grid), progress, quiet)
    positive = 0
    _log_tiling(info, config, grid)

    def block_done(tiles: int, stats: TileStats) -> None:
        nonlocal positive
        positive += stats.positive
        bar.update(tiles, positive)

    try:
        return run_tiles_on_cluster(info, config, staging, clock, block_done)
    finally:
        bar.close()


def _verify_on(src: rasterio.io.DatasetReader, info: RasterInfo, config: DetectConfig, cascade: Cascade) -> Verify:
    """Scores of crack candidates by the cascade's verifier, on patches of the orthomosaic ``src``."""
    assert cascade.verifier is not None
    verifier = CrackVerifier(cascade.verifier, cascade.device, cascade.amp_dtype, config.classify_batch)
    scale = model_scale(info, config)
    return lambda lines: verifier.scores(src, info, lines, scale)


def _log_tiling(info: RasterInfo, config: DetectConfig, grid: TileGrid) -> None:
    log_event(
        log,
        "tiling",
        tiles=len(grid),
        rows=grid.rows,
        cols=grid.cols,
        tile_px=grid.size,
        overlap_px=2 * grid.margin,
        model_scale=round(model_scale(info, config), 4),
    )


STAGING_PREFIX = ".geowarn-staging-"


def _remove_stale_staging(out_dir: Path) -> None:
    """Delete staging folders left by runs that were killed (their process is gone)."""
    for path in out_dir.glob(STAGING_PREFIX + "*"):
        pid = path.name[len(STAGING_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            log_event(log, "removed staging folder of an interrupted run", path=str(path))


def _prepare_out_dir(out_dir: Path) -> Path:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out {out_dir} is a file; give a folder for the outputs")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(out_dir)
        staging = out_dir / f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
    except OSError as exc:
        raise OutputError(
            f"--out {out_dir}: cannot create the output folder ({exc.strerror}); choose a writable location"
        ) from exc
    return staging


def detect(
    input_path: Path | str,
    out_dir: Path | str,
    config: DetectConfig | None = None,
    *,
    cascade: Cascade | None = None,
    progress: bool | None = None,
    quiet: bool = False,
) -> DetectResult:
    """Run the detection pipeline on one orthomosaic; see the module docstring.

    Raises:
        InvalidRasterError: the input cannot be used (nothing is written).
        ModelError: models or weights are missing or corrupt (nothing is written).
        OutputError: ``out_dir`` is not writable.

    """
    config = config or DetectConfig()
    input_path, out_dir = Path(input_path), Path(out_dir)
    started, t_start = utc_now(), time.perf_counter()
    clock = StageClock()
    t0 = time.perf_counter()
    info = open_orthomosaic(input_path, max_pixels=config.max_pixels)
    clock.add("validate", time.perf_counter() - t0)
    if not config.target_gsd_m and not MODEL_GSD_RANGE_M[0] <= info.gsd_m <= MODEL_GSD_RANGE_M[1]:
        log_event(
            log,
            "pixel size outside the range the models are meant for; expect missed cracks or false alarms",
            level=logging.WARNING,
            gsd_m=round(info.gsd_m, 4),
            range_m=f"{MODEL_GSD_RANGE_M[0]}-{MODEL_GSD_RANGE_M[1]}",
            fix="coarser: fly lower (cracks narrower than ~2 px are invisible); finer: --target-gsd 0.01",
        )
    if config.threads:
        torch.set_num_threads(config.threads)
    t0 = time.perf_counter()
    cascade = cascade or load_cascade(config)
    clock.add("load_models", time.perf_counter() - t0)
    log_event(
        log,
        "start",
        input=str(input_path),
        width=info.width,
        height=info.height,
        gsd_m=round(info.gsd_m, 5),
        crs=info.crs_name,
        device=str(cascade.device),
    )
    staging = _prepare_out_dir(out_dir)
    try:
        with (
            rasterio.Env(GDAL_CACHEMAX=config.gdal_cache_mb, GDAL_NUM_THREADS="ALL_CPUS"),
            ThreadPoolExecutor(2, thread_name_prefix="geowarn-bg") as background,
            ExitStack() as stack,
        ):
            input_hash = background.submit(sha256_file, input_path)
            t0 = time.perf_counter()
            cluster_run: dict[str, Any] | None = None
            if config.cluster:
                stats, labeler, cluster_run = _run_tiles_on_cluster(info, config, staging, progress, quiet, clock)
            else:
                stats, labeler = _run_tiles(info, config, cascade, staging, progress, quiet, clock)
            clock.add("tiles_total", time.perf_counter() - t0)
            t0 = time.perf_counter()
            prob_cog = background.submit(to_cog, staging / PROB_NAME, staging / ("cog-" + PROB_NAME), "AVERAGE")
            components = labeler.finish()
            verify_src = stack.enter_context(rasterio.open(input_path)) if cascade.verifier else None
            found = vectorize_features(
                staging / MASK_NAME,
                staging / PROB_NAME,
                components,
                min_length_m=config.min_crack_length_m,
                min_elongation=config.min_elongation,
                max_mean_width_m=config.max_crack_width_m,
                metres_per_unit=info.metres_per_unit,
                prune_mask=True,
                verify=_verify_on(verify_src, info, config, cascade) if verify_src else None,
                verify_threshold=cascade.verifier.threshold if cascade.verifier else 0.0,
            )
            polygons, centerlines = found.polygons, found.centerlines
            write_cracks_gpkg(staging / GPKG_NAME, polygons, centerlines, found.wide, found.unconfirmed)
            clock.add("vectorize", time.perf_counter() - t0)
            t0 = time.perf_counter()
            to_cog(staging / MASK_NAME, staging / ("cog-" + MASK_NAME), "NEAREST")
            prob_cog.result()
            for name in (PROB_NAME, MASK_NAME):
                os.replace(staging / ("cog-" + name), staging / name)
            clock.add("cog", time.perf_counter() - t0)
            digest = input_hash.result()
        n_cracks = len(polygons)
        total_length = float(polygons["length_m"].sum()) if n_cracks else 0.0
        counts = {
            "tiles_total": stats.total,
            "tiles_nodata": stats.nodata,
            "tiles_classified": stats.classified,
            "tiles_positive": stats.positive,
            "tiles_followed": stats.followed,
            "tiles_segmented": stats.segmented,
            "thresholded_pixels": stats.thresholded_pixels,
            "crack_pixels": int(polygons["n_pixels"].sum()) if n_cracks else 0,
            "valid_pixels": stats.valid_pixels,
            "components": len(components),
            "cracks": n_cracks,
            "wide_features": len(found.wide),
            "unconfirmed_features": len(found.unconfirmed),
        }
        clock.add("total", time.perf_counter() - t_start)
        record = _manifest(info, digest, config, cascade, counts, total_length, clock, started)
        if cluster_run is not None:
            record["cluster"] = cluster_run
        manifest = redact_tree(record)
        write_json_atomic(staging / RUN_NAME, manifest)
        outputs = {}
        for name in (PROB_NAME, MASK_NAME, GPKG_NAME, RUN_NAME):
            os.replace(staging / name, out_dir / name)
            outputs[name] = out_dir / name
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log_event(
        log,
        "done",
        cracks=n_cracks,
        total_length_m=round(total_length, 3),
        seconds=round(clock.seconds["total"], 2),
        out=str(out_dir),
    )
    return DetectResult(out_dir, outputs, counts, n_cracks, total_length, clock.seconds, manifest)


def _model_record(model: LoadedModel) -> dict[str, Any]:
    return {
        "name": model.spec.name,
        "task": model.spec.task,
        "weights_sha256": model.sha256,
        "threshold": model.threshold,
    }


def _manifest(
    info: RasterInfo,
    digest: str,
    config: DetectConfig,
    cascade: Cascade,
    counts: dict[str, int],
    total_length: float,
    clock: StageClock,
    started: str,
) -> dict[str, Any]:
    mpx = info.megapixels
    seconds = clock.seconds
    rates = {
        "end_to_end_mpx_per_s": mpx / seconds["total"] if seconds.get("total") else None,
        "classify_tiles_per_s": counts["tiles_classified"] / seconds["classify"] if seconds.get("classify") else None,
        "segment_tiles_per_s": counts["tiles_segmented"] / seconds["segment"] if seconds.get("segment") else None,
        "read_mpx_per_s": mpx / seconds["read"] if seconds.get("read") else None,
    }
    return {
        "kind": "geowarn.detect",
        "started": started,
        "finished": utc_now(),
        "input": {"path": str(info.path.resolve()), "sha256": digest, "raster": info.to_dict()},
        "models": {
            "segmenter": _model_record(cascade.segmenter),
            "classifier": _model_record(cascade.classifier) if cascade.classifier else None,
            "verifier": _model_record(cascade.verifier) if cascade.verifier else None,
            "device": str(cascade.device),
            "amp": str(cascade.amp_dtype) if cascade.amp_dtype else None,
        },
        "config": config.to_json_dict(),
        "environment": environment(),
        "counts": counts,
        "total_crack_length_m": total_length,
        "timings_s": seconds,
        "rates": rates,
        "outputs": {"probability": PROB_NAME, "mask": MASK_NAME, "features": GPKG_NAME},
    }
