"""``python -m geowarn.harness.scenario --data DATA --out OUT``: build a monitoring scenario suite."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geowarn.errors import GeowarnError
from geowarn.harness.scenario.build import KINDS, build_suite


def main(argv: list[str] | None = None) -> int:
    """Build a suite and print its scenario folders; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m geowarn.harness.scenario", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="real data folder holding crack-seg/")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-per-kind", type=int, default=2)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS), metavar="KIND")
    parser.add_argument("--source", default="crackforest", help="crack-seg source (held-out split only)")
    parser.add_argument("--split", default="test")
    args = parser.parse_args(argv)
    try:
        folders = build_suite(
            args.data,
            args.out,
            seed=args.seed,
            n_per_kind=args.n_per_kind,
            kinds=args.kinds,
            source=args.source,
            split=args.split,
        )
    except GeowarnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for folder in folders:
        print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
