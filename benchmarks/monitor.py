"""Peak memory and time of ``geowarn monitor`` on a site of large surveys.

Builds (once, cached in .bench/) the benchmark raster of ``detect.py`` for a background, makes
SURVEYS repeat surveys of it (copies whose geotransform carries a georeferencing error of up to
0.4 m, as a repeat flight would), adds them to a fresh workspace and runs ``geowarn monitor``
on all of them in a child process. Prints the wall time per survey and the child's peak RSS
(the budget is 2 GB for any survey size).

    python benchmarks/monitor.py                               # natural background, 3,000 px, 3 surveys
    python benchmarks/monitor.py --size 8192 --background synthetic
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from detect import CHILD, ROOT, raster_for


def make_surveys(raster: Path, folder: Path, n: int, seed: int) -> list[Path]:
    """``n`` copies of ``raster`` with their own georeferencing error (the first one has none)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        path = folder / f"survey_{k + 1:02d}.tif"
        shutil.copyfile(raster, path)
        with rasterio.open(path, "r+") as dst:
            t = dst.transform
            angle, radius = rng.uniform(0, 2 * math.pi), 0.4 * math.sqrt(rng.uniform()) if k else 0.0
            dx, dy = radius * math.cos(angle), radius * math.sin(angle)
            dst.transform = Affine(t.a, t.b, t.c + dx, t.d, t.e, t.f + dy)
            # a different file for each survey (surveys are recognised by their hash)
            dst.update_tags(GEOWARN_BENCH_SURVEY=str(k + 1))
        out.append(path)
    return out


def geowarn(home: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "geowarn.cli", *args, "--home", str(home)], check=True, stdout=subprocess.DEVNULL
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=3000, help="survey side in px")
    parser.add_argument("--surveys", type=int, default=3)
    parser.add_argument("--background", choices=["synthetic", "natural"], default="natural")
    parser.add_argument("--crack-tile-fraction", type=float)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="real data folder")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "monitor")
    args = parser.parse_args()

    raster = raster_for(args.background, args)
    work = args.out / f"{args.background}_{args.size}"
    shutil.rmtree(work, ignore_errors=True)
    surveys = make_surveys(raster, work / "surveys", args.surveys, args.seed)
    home = work / "home"
    geowarn(home, "site", "add", "bench")
    start = date(2026, 5, 1)
    for k, path in enumerate(surveys):
        geowarn(home, "survey", "add", "bench", str(path), "--date", (start + timedelta(days=7 * k)).isoformat())
    peak_file = work / "peak-rss.txt"
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", CHILD, str(peak_file), "monitor", "--home", str(home), "--no-deliver"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    mpx = args.size * args.size / 1e6
    print(f"[monitor, {args.background}]")
    print(f"surveys       {args.surveys} x {args.size} x {args.size} px ({mpx:.0f} Mpx each), from {raster}")
    rate = mpx * args.surveys / wall
    print(f"wall          {wall:.1f} s in all, {wall / args.surveys:.1f} s per survey ({rate:.2f} Mpx/s)")
    print(f"peak RSS      {int(peak_file.read_text()) / 1024:.0f} MB (budget 2048 MB)", flush=True)


if __name__ == "__main__":
    main()
