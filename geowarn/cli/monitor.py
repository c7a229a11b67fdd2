"""Monitoring subcommands: ``site``, ``survey``, ``monitor``, ``alerts`` and ``outbox``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD, e.g. 2026-05-01") from exc


def _workspace(args: argparse.Namespace) -> Any:
    from geowarn.workspace import open_workspace

    return open_workspace(args.home, args.db)


def _print_rows(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


def cmd_site_add(args: argparse.Namespace) -> int:
    """Create a site."""
    from geowarn.workspace.sites import add_site

    ws = _workspace(args)
    site = add_site(ws, args.site, args.name, args.config)
    print(f"site {site.slug} created" + (f" with rules {args.config}" if args.config else " with default rules"))
    return 0


def cmd_site_list(args: argparse.Namespace) -> int:
    """List sites."""
    from geowarn.workspace.sites import site_rows

    rows = site_rows(_workspace(args))
    cols = ["site", "name", "surveys", "pending", "flagged", "last_survey", "tracks", "level", "unacknowledged"]
    _print_rows(rows, args.json, cols)
    return 0


def cmd_site_show(args: argparse.Namespace) -> int:
    """Show one site with its surveys."""
    from geowarn.workspace.sites import site_detail

    detail = site_detail(_workspace(args), args.site)
    if args.json:
        print(json.dumps(detail, indent=2, default=str))
        return 0
    surveys = detail.pop("surveys")
    for key, value in detail.items():
        print(f"{key:>15}: {value}")
    for s in surveys:
        reg = s["registration"]
        reg_text = "-" if reg is None else ("ok" if reg["ok"] else "FAILED")
        if reg and reg["dx_m"] is not None:
            reg_text += f" dx={reg['dx_m']:+.3f} dy={reg['dy_m']:+.3f} m"
        print(f"  survey {s['id']:>4}  {s['date']}  {s['status']:<9} registration {reg_text}  {s['path']}")
        if s["error"]:
            print(f"        error: {s['error']}")
    return 0


def cmd_survey_add(args: argparse.Namespace) -> int:
    """Register an orthomosaic as a pending survey."""
    from geowarn.workspace.sites import add_survey

    print(add_survey(_workspace(args), args.site, args.ortho, args.date).message)
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """Process pending surveys, check overdue ones and send due alerts."""
    from geowarn.logs import setup_logging
    from geowarn.pipeline.detect_config import MONITOR_DETECT_DEFAULTS, load_detect_config
    from geowarn.pipeline.monitor import Processor, monitor

    setup_logging("error" if args.quiet else "info", args.log_format)
    ws = _workspace(args)
    overrides: dict[str, object] = {"device": args.device, "threads": args.threads}
    processor = Processor(ws, load_detect_config(args.detect_config, overrides, MONITOR_DETECT_DEFAULTS))
    report = monitor(
        ws,
        args.site,
        processor=processor,
        today=args.today,
        deliver=not args.no_deliver,
        retry_failed=args.retry_failed,
    )
    print(report)
    return 0


def cmd_alerts_list(args: argparse.Namespace) -> int:
    """List alerts."""
    from geowarn.alerts.admin import list_alerts

    rows = list_alerts(_workspace(args).store, args.site, unacked=args.unacked)
    if not args.json:
        for r in rows:
            r["ack"] = r["acked_by"] or ("REQUIRED" if r["requires_ack"] else "-")
            r["reason"] = (r["reasons"] or [""])[0][:90]
    _print_rows(
        rows, args.json, ["id", "site", "survey_date", "level", "previous_level", "ack", "deliveries", "reason"]
    )
    return 0


def cmd_alerts_ack(args: argparse.Namespace) -> int:
    """Acknowledge an alert."""
    from geowarn.alerts.admin import ack_alert

    print(ack_alert(_workspace(args).store, args.alert_id, args.by, args.note))
    return 0


def cmd_outbox_flush(args: argparse.Namespace) -> int:
    """Send due deliveries."""
    from geowarn.logs import setup_logging
    from geowarn.pipeline.monitor import flush_site_outbox

    setup_logging("error" if args.quiet else "info", args.log_format)
    report = flush_site_outbox(_workspace(args), force=args.all)
    print(report)
    return 0 if not report.failed else 1


def cmd_outbox_list(args: argparse.Namespace) -> int:
    """List outbox rows."""
    from geowarn.alerts.admin import list_deliveries

    rows = list_deliveries(_workspace(args).store, args.status)
    _print_rows(
        rows,
        args.json,
        ["id", "alert", "reminder", "channel", "recipient", "status", "attempts", "next_attempt_at", "last_error"],
    )
    return 0


def cmd_scenario_build(args: argparse.Namespace) -> int:
    """Build a multi-survey scenario suite from real crack imagery."""
    from geowarn.harness.scenario.build import build_suite

    folders = build_suite(args.data, args.out, seed=args.seed, n_per_kind=args.n_per_kind)
    print(f"{len(folders)} scenarios in {args.out}: " + ", ".join(f.name for f in folders))
    return 0


def cmd_scenario_run(args: argparse.Namespace) -> int:
    """Monitor every scenario of a suite and report alert precision/recall and growth errors."""
    from geowarn.harness.scenario.run import format_report, run_suite
    from geowarn.logs import setup_logging

    setup_logging("error" if args.quiet else "warning", args.log_format)
    result = run_suite(args.suite, args.work)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(format_report(result))
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", type=Path, help="workspace folder (default $GEOWARN_HOME or ./geowarn-data)")
    p.add_argument("--db", help="database URL (default $GEOWARN_DB or sqlite in the workspace)")


def add_monitor_commands(sub: Any, add_output_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register the monitoring subcommands on the top-level subparsers."""
    site = sub.add_parser("site", help="add, list and show monitored sites")
    site_sub = site.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    p = site_sub.add_parser("add", help="create a site")
    p.add_argument("site", help="site id: lower-case slug, e.g. north-slope")
    p.add_argument("--name", help="display name (default: the id)")
    p.add_argument("--config", type=Path, help="site YAML: rules, recipients, channels (see config/site.example.yaml)")
    _common(p)
    p.set_defaults(func=cmd_site_add)
    p = site_sub.add_parser("list", help="list sites with their level")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(func=cmd_site_list)
    p = site_sub.add_parser("show", help="one site and its surveys")
    p.add_argument("site")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(func=cmd_site_show)

    survey = sub.add_parser("survey", help="add surveys (orthomosaics) to a site")
    survey_sub = survey.add_subparsers(dest="survey_command", required=True, metavar="ACTION")
    p = survey_sub.add_parser("add", help="register an orthomosaic as a pending survey (same file twice: no-op)")
    p.add_argument("site")
    p.add_argument("ortho", type=Path, help="orthomosaic GeoTIFF/COG in the site's CRS")
    p.add_argument("--date", type=_date, required=True, help="acquisition date YYYY-MM-DD")
    _common(p)
    p.set_defaults(func=cmd_survey_add)

    p = sub.add_parser(
        "monitor",
        help="process pending surveys: detect, register, track, assess, notify",
        description="For each site (or SITE): process pending surveys in date order, raise 'no data' for "
        "overdue surveys, then deliver due alerts. Safe to re-run and to schedule.",
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
    p.add_argument("--today", type=_date, help="date for the overdue check (default: today, UTC)")
    p.add_argument("--no-deliver", action="store_true", help="store alerts in the outbox but do not send them now")
    p.add_argument("--retry-failed", action="store_true", help="process surveys that failed before once more")
    _common(p)
    add_output_options(p)
    p.set_defaults(func=cmd_monitor)

    alerts = sub.add_parser("alerts", help="list and acknowledge alerts")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    p = alerts_sub.add_parser("list", help="alerts, newest first")
    p.add_argument("--site")
    p.add_argument("--unacked", action="store_true", help="only alerts awaiting acknowledgement")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(func=cmd_alerts_list)
    p = alerts_sub.add_parser("ack", help="acknowledge an alert (orange and red need it)")
    p.add_argument("alert_id", type=int)
    p.add_argument("--by", required=True, help="who acknowledges")
    p.add_argument("--note", help="free text, e.g. actions taken")
    _common(p)
    p.set_defaults(func=cmd_alerts_ack)

    outbox = sub.add_parser("outbox", help="deliver or inspect pending alert messages")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    p = outbox_sub.add_parser(
        "flush", help="queue due reminders of unacknowledged alerts, send due deliveries (retries with backoff)"
    )
    p.add_argument("--all", action="store_true", help="also retry deliveries still waiting out their backoff")
    _common(p)
    add_output_options(p)
    p.set_defaults(func=cmd_outbox_flush)
    scen = sub.add_parser("scenario", help="multi-survey scenarios with known truth: build, run and score")
    scen_sub = scen.add_subparsers(dest="scenario_command", required=True, metavar="ACTION")
    p = scen_sub.add_parser("build", help="build a suite from the held-out real crack images")
    p.add_argument("--data", type=Path, default=Path("../shared/data"), help="the real data folder")
    p.add_argument("--out", type=Path, required=True, help="suite folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-per-kind", type=int, default=1, help="scenarios per kind (stable, growing-..., ...)")
    p.set_defaults(func=cmd_scenario_build)
    p = scen_sub.add_parser("run", help="monitor every scenario of a suite and score alerts and growth")
    p.add_argument("suite", type=Path, help="suite folder from 'scenario build'")
    p.add_argument("--work", type=Path, default=Path("scenario-work"), help="workspaces are created here")
    p.add_argument("--json", type=Path, help="also write the full result as JSON")
    add_output_options(p)
    p.set_defaults(func=cmd_scenario_run)

    p = outbox_sub.add_parser("list", help="outbox rows")
    p.add_argument("--status", choices=["pending", "sent", "failed", "cancelled"])
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(func=cmd_outbox_list)
