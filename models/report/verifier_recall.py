"""What the crack verifier costs on the held-out crack sets: F1 / recall within 2 px of detect's mask.

Each drawn held-out image (``held_out.py``) goes through the whole ``detect`` pipeline twice:
gate, segmenter and shape filters, then the same with the verifier; the difference between the
two passes is what the verifier removes.

    .venv/bin/python models/report/verifier_recall.py --data ../shared/data --per-source 60 [--verify-threshold T]
        [--verifier-weights runs/verify-s/best.pt]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from held_out import detected_counts, sampled_sources

from geowarn.metrics.tolerance import ToleranceCounts
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
        for source, pairs in sampled_sources(args.data, args.per_source, args.seed):
            counts = {k: ToleranceCounts() for k in configs}
            for image, truth in pairs:
                for key, config in configs.items():
                    counts[key] += detected_counts(image, truth, Path(tmp), config, cascades[key])
            for key in configs:
                totals[key] += counts[key]
            w, v = counts["without"], counts["with"]
            print(f"{source:<22}{len(pairs):>4}  {w.f1:>10.3f} {w.recall:>9.3f}  {v.f1:>8.3f} {v.recall:>7.3f}")
    w, v = totals["without"], totals["with"]
    print(f"{'all (pooled)':<22}{'':>4}  {w.f1:>10.3f} {w.recall:>9.3f}  {v.f1:>8.3f} {v.recall:>7.3f}")


if __name__ == "__main__":
    main()
