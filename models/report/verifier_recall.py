"""What the crack verifier costs on the held-out crack sets: F1 / recall within 2 px of detect's mask.

Each held-out image of each source (the splits of ``geowarn eval defaults``; ``--per-source``
seeded images of each) is written as a GeoTIFF at 2 cm and run through the whole ``detect``
pipeline (gate, segmenter, shape filters and, in the second pass, the verifier); the reported
crack mask is scored against the truth. Crack photos are not 2 cm imagery: the shape filters in
metres read them as if they were, so the absolute figures mean little; the difference between
the two passes is what the verifier removes.

    .venv/bin/python models/report/verifier_recall.py --data ../shared/data --per-source 60 [--verify-threshold T]
        [--verifier-weights runs/verify-s/best.pt]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import rasterio

from geowarn.evaluation.defaults import evaluation_splits, held_out_pairs
from geowarn.harness.natural import write_geotiff
from geowarn.io.outputs import MASK_NAME
from geowarn.metrics.tolerance import ToleranceCounts, tolerance_counts
from geowarn.pipeline.detect import detect
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.pipeline.rows import load_cascade


def main() -> None:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--per-source", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verify-threshold", type=float, help="default: the shipped one")
    parser.add_argument("--verifier-weights", type=Path, help="verifier checkpoint to measure; default: shipped")
    args = parser.parse_args()
    verifier = DetectConfig(verify_threshold=args.verify_threshold, verifier_weights=args.verifier_weights)
    configs = {"without": DetectConfig(verifier=None), "with": verifier}
    cascades = {k: load_cascade(c) for k, c in configs.items()}
    print(f"{'source':<22}{'n':>4}  {'F1 without':>10} {'R without':>9}  {'F1 with':>8} {'R with':>7}")
    totals = {k: ToleranceCounts() for k in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for source, split in evaluation_splits(args.data / "crack-seg").items():
            pairs = held_out_pairs(args.data, source, split, None)
            rng = np.random.default_rng(args.seed)
            picked = rng.choice(len(pairs), size=min(args.per_source, len(pairs)), replace=False)
            counts = {k: ToleranceCounts() for k in configs}
            for j in sorted(picked.tolist()):
                image, truth = pairs[j]
                raster = write_geotiff(image, Path(tmp) / "scene.tif")
                for key, config in configs.items():
                    detect(raster, Path(tmp) / key, config, cascade=cascades[key], progress=False, quiet=True)
                    with rasterio.open(Path(tmp) / key / MASK_NAME) as src:
                        found = src.read(1) == 1
                    counts[key] += tolerance_counts(found, truth.astype(bool), 2.0)
            for key in configs:
                totals[key] += counts[key]
            w, v = counts["without"], counts["with"]
            print(f"{source:<22}{len(picked):>4}  {w.f1:>10.3f} {w.recall:>9.3f}  {v.f1:>8.3f} {v.recall:>7.3f}")
    w, v = totals["without"], totals["with"]
    print(f"{'all (pooled)':<22}{'':>4}  {w.f1:>10.3f} {w.recall:>9.3f}  {v.f1:>8.3f} {v.recall:>7.3f}")


if __name__ == "__main__":
    main()
