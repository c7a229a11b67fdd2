"""End-to-end throughput and memory of ``geowarn detect`` on a large synthetic orthomosaic.

Builds (once, cached in .bench/) an RGB GeoTIFF of SIZE x SIZE px at 2 cm where about 10% of
the 256-px tiles contain cracks, runs ``geowarn detect`` on it in a child process and prints
end-to-end Mpx/s, per-stage seconds and tiles/s, and the child's peak RSS.

    python benchmarks/detect.py                 # 20,000 x 20,000 px (400 Mpx)
    python benchmarks/detect.py --size 4096     # quick run
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_raster(path: Path, size: int, fraction: float, seed: int) -> None:
    from geowarn.harness.synthetic import make_orthomosaic

    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    make_orthomosaic(
        path, size, size, crack_tile_fraction=fraction, seed=seed, compress="deflate", tiled=True, blocksize=512
    )
    print(f"built {path} ({size} x {size} px) in {time.perf_counter() - t0:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20_000, help="raster side in px")
    parser.add_argument("--crack-tile-fraction", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--raster", type=Path, help="benchmark this raster instead of a synthetic one")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "out")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more options for geowarn detect")
    args = parser.parse_args()

    raster = args.raster
    if raster is None:
        raster = ROOT / ".bench" / f"synthetic_{args.size}_{args.crack_tile_fraction:g}_{args.seed}.tif"
        if not raster.exists():
            build_raster(raster, args.size, args.crack_tile_fraction, args.seed)
    cmd = [sys.executable, "-m", "geowarn.cli", "detect", str(raster), "--out", str(args.out), "--quiet", *args.extra]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    run = json.loads((args.out / "run.json").read_text())
    raster_info, counts, timings = run["input"]["raster"], run["counts"], run["timings_s"]
    mpx = raster_info["width"] * raster_info["height"] / 1e6
    print(f"raster        {raster} ({raster_info['width']} x {raster_info['height']} px, {mpx:.0f} Mpx)")
    print(f"device        {run['models']['device']}, torch threads from {run['environment']['cpu_count']} cores")
    print(
        f"tiles         {counts['tiles_total']} total, {counts['tiles_positive']} gated in "
        f"({counts['tiles_positive'] / max(counts['tiles_total'], 1):.1%}), {counts['tiles_followed']} followed "
        f"along cracks, {counts['tiles_segmented']} segmented "
        f"({counts['tiles_segmented'] / max(counts['tiles_total'], 1):.1%}), {counts['cracks']} cracks"
    )
    print(
        f"end to end    {wall:.1f} s wall (process), {timings['total']:.1f} s in detect -> "
        f"{mpx / wall:.2f} Mpx/s (process), {mpx / timings['total']:.2f} Mpx/s (detect)"
    )
    print("stages (s)    " + ", ".join(f"{k}={v:.1f}" for k, v in timings.items()))
    tiles_s = {
        "read": counts["tiles_total"] / timings["read"] if timings.get("read") else None,
        "classify": counts["tiles_classified"] / timings["classify"] if timings.get("classify") else None,
        "segment": counts["tiles_segmented"] / timings["segment"] if timings.get("segment") else None,
    }
    print("tiles/s       " + ", ".join(f"{k}={v:.0f}" for k, v in tiles_s.items() if v))
    print(f"peak RSS      {peak_rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
