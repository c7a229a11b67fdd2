"""``geowarn monitor``: process pending surveys (detect, register, track, assess, alert)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geowarn.cli.common import add_output_options, add_workspace_options, parse_date, setup_logs, workspace


def cmd_monitor(args: argparse.Namespace) -> int:
    """Process pending surveys, check overdue ones and send due alerts."""
    from geowarn.pipeline.detect_config import MONITOR_DETECT_DEFAULTS, load_detect_config

    setup_logs(args)
    overrides: dict[str, object] = {"device": args.device, "threads": args.threads}
    detect = load_detect_config(args.detect_config, overrides, MONITOR_DETECT_DEFAULTS)
    with workspace(args) as ws:
        report = ws.monitor(
            args.site, detect=detect, today=args.today, deliver=not args.no_deliver, retry_failed=args.retry_failed
        )
    print(report)
    return 0 if report.ok else 1


def add_commands(sub: Any) -> None:
    """``geowarn monitor``."""
    p = sub.add_parser(
        "monitor",
        help="process pending surveys: detect, register, track, assess, notify",
        description="For each site (or SITE): process pending surveys in date order, raise 'no data' for "
        "overdue surveys, then deliver due alerts. Safe to re-run and to schedule. Each site and each survey "
        "is processed on its own: a failure is recorded on that survey or site (geowarn site show) and the "
        "others go on. Exit status 1 when a site could not be monitored or the deliveries could not be tried.",
    )
    p.add_argument("site", nargs="?", help="only this site")
    p.add_argument(
        "--detect-config",
        type=Path,
        help="YAML with detect settings (see config/detect.yaml); monitoring segments every tile unless it "
        "names a classifier",
    )
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the models run (default auto)")
    p.add_argument("--threads", type=int, help="CPU threads for the models")
    p.add_argument("--today", type=parse_date, help="date for the overdue check (default: today, UTC)")
    p.add_argument("--no-deliver", action="store_true", help="store alerts in the outbox but do not send them now")
    p.add_argument("--retry-failed", action="store_true", help="process surveys that failed before once more")
    add_workspace_options(p)
    add_output_options(p)
    p.set_defaults(func=cmd_monitor)
