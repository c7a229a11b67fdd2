"""End-to-end throughput and memory of ``geowarn detect`` on large orthomosaics.

Builds (once, cached in .bench/) an RGB GeoTIFF of SIZE x SIZE px at 2 cm for each
background, runs ``geowarn detect`` on it in a child process and prints, per background:
end-to-end Mpx/s, per-stage seconds, tiles/s, the number of cracks and the vectorising
rate (cracks per second of the vectorize stage), and the child's peak RSS.

Backgrounds:
    synthetic  ``geowarn.harness.synthetic`` terrain with cracks in about 10 % of the 256-px tiles.
    natural    real crack-free drone frames (``natural/no-crack``), cross-faded on a grid,
               with real crack photos (``crack-seg/*/test``) scaled to 2-6 px wide cracks
               pasted into about 3 % of the tiles (see ``natural_scene.py``); the detector
               flags much of this vegetation and bare ground, as it does on real surveys.

    python benchmarks/detect.py                           # both, 20,000 x 20,000 px (400 Mpx)
    python benchmarks/detect.py --size 4096               # quick run
    python benchmarks/detect.py --background natural --extra --classifier none
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from natural_scene import build_natural

ROOT = Path(__file__).resolve().parents[1]
FRACTIONS = {"synthetic": 0.10, "natural": 0.03}


def build_synthetic(path: Path, size: int, fraction: float, seed: int) -> None:
    from geowarn.harness.synthetic import make_orthomosaic

    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    make_orthomosaic(
        path, size, size, crack_tile_fraction=fraction, seed=seed, compress="deflate", tiled=True, blocksize=512
    )
    print(f"built {path} ({size} x {size} px) in {time.perf_counter() - t0:.1f} s", flush=True)


def raster_for(background: str, args: argparse.Namespace) -> Path:
    """The cached benchmark raster of a background, built if missing."""
    fraction = FRACTIONS[background] if args.crack_tile_fraction is None else args.crack_tile_fraction
    path = ROOT / ".bench" / f"{background}_{args.size}_{fraction:g}_{args.seed}.tif"
    if not path.exists():
        partial = path.with_name("building-" + path.name)  # an interrupted build is not reused
        if background == "synthetic":
            build_synthetic(partial, args.size, fraction, args.seed)
        else:
            build_natural(partial, args.size, fraction, args.seed, args.data)
        partial.replace(path)
    return path


#: Runs ``geowarn detect`` (the arguments after the first) and writes its peak RSS in kB to the first
#: argument: /proc's VmHWM counts this process image only, whereas a child's ru_maxrss also counts
#: the memory of the process that started it.
CHILD = """
import runpy, sys
peak_file = sys.argv.pop(1)
sys.argv[0] = "geowarn"
try:
    runpy.run_module("geowarn.cli", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(peak_file, "w") as out:
        out.write(peak)
"""


def run_detect(raster: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Run detect in a child process: wall seconds and the child's peak RSS in MB."""
    out.mkdir(parents=True, exist_ok=True)
    peak_file = out.parent / f"peak-rss-{out.name}.txt"
    args = ["detect", str(raster), "--out", str(out), "--quiet", *extra]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD, str(peak_file), *args], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    return wall, int(peak_file.read_text()) / 1024


def report(background: str, raster: Path, run: dict[str, Any], wall: float, peak_rss_mb: float) -> None:
    raster_info, counts, timings = run["input"]["raster"], run["counts"], run["timings_s"]
    mpx = raster_info["width"] * raster_info["height"] / 1e6
    total = max(counts["tiles_total"], 1)
    print(f"[{background}]")
    print(f"raster        {raster} ({raster_info['width']} x {raster_info['height']} px, {mpx:.0f} Mpx)")
    print(f"device        {run['models']['device']}, torch threads from {run['environment']['cpu_count']} cores")
    print(
        f"tiles         {counts['tiles_total']} total, {counts['tiles_positive']} gated in "
        f"({counts['tiles_positive'] / total:.1%}), {counts['tiles_followed']} followed along cracks, "
        f"{counts['tiles_segmented']} segmented ({counts['tiles_segmented'] / total:.1%})"
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
    vectorize_s = timings.get("vectorize", 0.0)
    rate = f"{counts['cracks'] / vectorize_s:.0f} cracks/s" if vectorize_s else "-"
    print(
        f"cracks        {counts['cracks']} of {counts['components']} components; "
        f"vectorize {vectorize_s:.1f} s -> {rate}"
    )
    print(f"peak RSS      {peak_rss_mb:.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20_000, help="raster side in px")
    parser.add_argument("--background", choices=["synthetic", "natural", "both"], default="both")
    parser.add_argument(
        "--crack-tile-fraction", type=float, help="fraction of tiles with cracks (default 0.10 synthetic, 0.03 natural)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="real data folder")
    parser.add_argument("--raster", type=Path, help="benchmark this raster instead of a built one")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "out")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more options for geowarn detect")
    args = parser.parse_args()

    if args.raster is not None:
        runs = [("raster", args.raster)]
    else:
        backgrounds = ["synthetic", "natural"] if args.background == "both" else [args.background]
        runs = [(b, raster_for(b, args)) for b in backgrounds]
    for background, raster in runs:
        out = args.out / background
        wall, peak_rss_mb = run_detect(raster, out, args.extra)
        report(background, raster, json.loads((out / "run.json").read_text()), wall, peak_rss_mb)


if __name__ == "__main__":
    main()
