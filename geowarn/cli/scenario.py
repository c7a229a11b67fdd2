"""``geowarn scenario build|run``: multi-survey scenarios with known truth, built, monitored and scored."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from geowarn.cli.common import add_output_options, setup_logs


def cmd_scenario_build(args: argparse.Namespace) -> int:
    """Build a multi-survey scenario suite from real crack imagery."""
    from geowarn.harness.scenario.build import build_suite
    from geowarn.harness.scenario.schema import load_suite

    kinds = {"kinds": args.kinds} if args.kinds else {}
    folders = build_suite(
        args.data, args.out, seed=args.seed, n_per_kind=args.n_per_kind, source=args.source, split=args.split, **kinds
    )
    print(f"{len(folders)} scenarios in {args.out}: " + ", ".join(f.name for f in folders))
    if (args.out / "suite.json").is_file():
        for skipped in load_suite(args.out).skipped:
            print(f"skipped {skipped['name']}: {skipped['reason']}")
    return 0


def cmd_scenario_run(args: argparse.Namespace) -> int:
    """Monitor every scenario of a suite and report alert precision/recall and growth errors."""
    from geowarn.harness.scenario.run import format_report, run_suite

    setup_logs(args, "warning")
    result = run_suite(args.suite, args.work)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(format_report(result))
    return 0


def add_commands(sub: Any) -> None:
    """``geowarn scenario``."""
    scen = sub.add_parser("scenario", help="multi-survey scenarios with known truth: build, run and score")
    scen_sub = scen.add_subparsers(dest="scenario_command", required=True, metavar="ACTION")
    p = scen_sub.add_parser(
        "build",
        help="build a suite from the held-out real crack images",
        description="Compose multi-survey sites from held-out crack-seg images: earlier surveys remove the far "
        "part of a real crack, each survey gets a GNSS offset and an illumination change; the truth goes to "
        "each scenario's scenario.json and the list to OUT/suite.json. The stable-ground and stable-scrub kinds "
        "survey real crack-free natural ground (held-out natural frames, australia.tif) with moving tree shadows "
        "and JPEG recompression too: nothing may be alerted there.",
    )
    p.add_argument("--data", type=Path, default=Path("../shared/data"), help="the real data folder")
    p.add_argument("--out", type=Path, required=True, help="suite folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-per-kind", type=int, default=1, help="scenarios per kind (default 1)")
    p.add_argument(
        "--kinds",
        nargs="+",
        metavar="KIND",
        help="kinds to build, in this order (default: every kind): stable, sub-noise, growing-slow, "
        "growing-moderate, growing-fast, new-crack, unregistrable (from --source), stable-ground (crack-free natural "
        "drone frames), stable-scrub (the crack-free scrubland orthomosaic)",
    )
    p.add_argument("--source", default="crackforest", help="crack-seg source; use a held-out split only")
    p.add_argument("--split", default="test", help="split of --source (default test)")
    p.set_defaults(func=cmd_scenario_build)
    p = scen_sub.add_parser("run", help="monitor every scenario of a suite and score alerts and growth")
    p.add_argument("suite", type=Path, help="suite folder from 'scenario build'")
    p.add_argument("--work", type=Path, default=Path("scenario-work"), help="workspaces are created here")
    p.add_argument("--json", type=Path, help="also write the full result as JSON")
    add_output_options(p)
    p.set_defaults(func=cmd_scenario_run)
