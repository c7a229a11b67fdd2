"""Scaling of ``geowarn detect`` on Dask: one process against 1 and 2 local workers.

Runs ``geowarn detect`` on the same raster (by default the 20,000 x 20,000 px synthetic benchmark
raster of ``benchmarks/detect.py``, built once into .bench/) in a child process per mode, checks
that every mode wrote the same mask and features as the single process, and prints per mode:
wall seconds, end-to-end Mpx/s, the speed-up over one process, the client's peak RSS, each
worker's peak RSS and busy seconds, the cluster's start-up, the assembly of the parts, and the
overhead left (time in the tile stage not spent starting the cluster, assembling or computing
on the busiest worker: scheduling, waiting for the last block and for patches), and how many
blocks had to be patched (a crack ran into them from above) and how many tile rows that ran
again (halo rows, which every block but the first runs once, not counted).

    python benchmarks/scaling.py                          # 20,000 x 20,000 px, modes single, local:1, local:2
    python benchmarks/scaling.py --size 4096 --modes single local:2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import rasterio
from detect import ROOT, raster_for, run_detect


def same_outputs(a: Path, b: Path) -> bool:
    """Whether two detect outputs hold the same mask and the same crack table."""
    import geopandas as gpd

    with rasterio.open(a / "crack_mask.tif") as x, rasterio.open(b / "crack_mask.tif") as y:
        for _, window in x.block_windows(1):
            if not np.array_equal(x.read(1, window=window), y.read(1, window=window)):
                return False
    fa = gpd.read_file(a / "cracks.gpkg", layer="crack_polygons")
    fb = gpd.read_file(b / "cracks.gpkg", layer="crack_polygons")
    return bool(fa.drop(columns="geometry").equals(fb.drop(columns="geometry")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20_000, help="raster side in px")
    parser.add_argument("--background", choices=["synthetic", "natural"], default="synthetic")
    parser.add_argument("--crack-tile-fraction", type=float)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--raster", type=Path, help="benchmark this raster instead of a built one")
    parser.add_argument("--modes", nargs="+", default=["single", "local:1", "local:2"])
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "scaling")
    args = parser.parse_args()

    raster = args.raster or raster_for(args.background, args)
    with rasterio.open(raster) as src:
        mpx = src.width * src.height / 1e6
        print(f"raster {raster}: {src.width} x {src.height} px ({mpx:.0f} Mpx)", flush=True)
    print(
        "| mode | wall (s) | Mpx/s | speed-up | client peak RSS (MB) | worker peak RSS (MB) | worker busy (s) "
        "| cluster start (s) | assemble (s) | overhead (s) | blocks (patched, rows run again) | same result |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    base_wall: float | None = None
    base_out: Path | None = None
    for mode in args.modes:
        out = args.out / mode.replace(":", "-")
        extra = [] if mode == "single" else ["--cluster", mode]
        wall, peak = run_detect(raster, out, extra)
        run = json.loads((out / "run.json").read_text())
        t = run["timings_s"]
        cluster = run.get("cluster", {})
        busy = cluster.get("worker_busy_s", {})
        rss = "/".join(f"{v:.0f}" for v in cluster.get("worker_peak_rss_mb", {}).values()) or "-"
        overhead = t["tiles_total"] - t["cluster_start"] - t["assemble"] - max(busy.values()) if busy else None
        blocks = f"{cluster['blocks']} ({cluster['blocks_patched']}, {cluster['rows_run_again']})" if cluster else "-"
        if base_wall is None:
            base_wall, base_out = wall, out
        same = "reference" if out == base_out else ("yes" if same_outputs(base_out, out) else "NO")
        print(
            f"| {mode} | {wall:.1f} | {mpx / wall:.2f} | {base_wall / wall:.2f} | {peak:.0f} | {rss} | "
            f"{'/'.join(f'{v:.0f}' for v in busy.values()) or '-'} | {t.get('cluster_start', 0):.1f} | "
            f"{t.get('assemble', 0):.1f} | {'-' if overhead is None else f'{overhead:.1f}'} | {blocks} | {same} |",
            flush=True,
        )
    sys.exit(0)


if __name__ == "__main__":
    main()
