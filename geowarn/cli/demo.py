"""``geowarn demo``: detection on a synthetic slope, then monitoring of a synthetic site."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geowarn.cli.common import add_output_options, setup_logs


def cmd_demo(args: argparse.Namespace) -> int:
    """Detect cracks in a synthetic orthomosaic, then monitor a synthetic site over four surveys."""
    from geowarn.harness.demo_detect import run_demo
    from geowarn.harness.demo_monitor import run_monitor_demo

    setup_logs(args)
    if not args.monitor_only:
        print(run_demo(args.out, seed=args.seed, progress=args.progress, quiet=args.quiet))
        print()
    if not args.detect_only:
        print(run_monitor_demo(args.out / "monitor", seed=args.seed))
    return 0


def add_commands(sub: Any) -> None:
    """``geowarn demo``."""
    p = sub.add_parser(
        "demo",
        help="detect cracks in a synthetic orthomosaic, then monitor a synthetic site over four surveys",
        description="No data or server needed: builds a 2048 x 2048 px, 2 cm scene with a crack "
        "network of known geometry, runs detect with the shipped weights and compares with the truth; then "
        "monitors a synthetic site surveyed four times whose main crack grows, delivering the alerts to "
        "files in OUT/monitor/workspace/outbox.",
    )
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder (default demo-output)")
    p.add_argument("--seed", type=int, default=2026, help="scene seed")
    part = p.add_mutually_exclusive_group()
    part.add_argument("--detect-only", action="store_true", help="only the single-orthomosaic detection demo")
    part.add_argument("--monitor-only", action="store_true", help="only the four-survey monitoring demo")
    add_output_options(p)
    p.set_defaults(func=cmd_demo)
