"""``geowarn alerts list|ack`` and ``geowarn outbox flush|list``: alerts and their delivery."""

from __future__ import annotations

import argparse
from typing import Any

from geowarn.cli.common import (
    add_output_options,
    add_workspace_options,
    as_dict,
    parse_id,
    print_rows,
    setup_logs,
    workspace,
)


def cmd_alerts_list(args: argparse.Namespace) -> int:
    """List alerts."""
    with workspace(args) as ws:
        rows = [as_dict(a) for a in ws.alerts(args.site, unacked=args.unacked)]
    if not args.json:
        for r in rows:
            r["ack"] = r["acked_by"] or ("REQUIRED" if r["requires_ack"] else "-")
            r["reason"] = (r["reasons"] or [""])[0][:90]
    print_rows(rows, args.json, ["id", "site", "survey_date", "level", "previous_level", "ack", "deliveries", "reason"])
    return 0


def cmd_alerts_ack(args: argparse.Namespace) -> int:
    """Acknowledge an alert."""
    with workspace(args) as ws:
        print(ws.acknowledge(args.alert_id, args.by, args.note).message)
    return 0


def cmd_outbox_flush(args: argparse.Namespace) -> int:
    """Send due deliveries."""
    setup_logs(args)
    with workspace(args) as ws:
        report = ws.flush_outbox(force=args.all)
    print(report)
    return 0 if report.ok else 1


def cmd_outbox_list(args: argparse.Namespace) -> int:
    """List outbox rows."""
    with workspace(args) as ws:
        rows = ws.deliveries(args.status)
    columns = ["id", "alert", "reminder", "channel", "recipient", "status", "attempts", "next_attempt_at", "last_error"]
    print_rows(rows, args.json, columns)
    return 0


def add_alerts_commands(sub: Any) -> None:
    """``geowarn alerts``."""
    alerts = sub.add_parser("alerts", help="list and acknowledge alerts")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    p = alerts_sub.add_parser("list", help="alerts, newest first")
    p.add_argument("--site")
    p.add_argument("--unacked", action="store_true", help="only alerts awaiting acknowledgement")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_workspace_options(p)
    p.set_defaults(func=cmd_alerts_list)
    p = alerts_sub.add_parser("ack", help="acknowledge an alert (orange and red need it)")
    p.add_argument("alert_id", type=parse_id, help="alert id (geowarn alerts list)")
    p.add_argument("--by", required=True, help="who acknowledges")
    p.add_argument("--note", help="free text, e.g. actions taken")
    add_workspace_options(p)
    p.set_defaults(func=cmd_alerts_ack)


def add_outbox_commands(sub: Any) -> None:
    """``geowarn outbox``."""
    outbox = sub.add_parser("outbox", help="deliver or inspect pending alert messages")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    p = outbox_sub.add_parser(
        "flush",
        help="queue due reminders of unacknowledged alerts, send due deliveries (retries with backoff)",
        description="Send the due deliveries. Each row is leased while it is sent, so flushes running at once "
        "(cron, monitor, --all) never send a row twice; a row leased by a process that is gone is taken over at "
        "once. Exit status 0 when every delivery tried went out (or none was due), 1 when one failed.",
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="also retry deliveries still waiting out their backoff (never one another flush is sending)",
    )
    add_workspace_options(p)
    add_output_options(p)
    p.set_defaults(func=cmd_outbox_flush)
    p = outbox_sub.add_parser("list", help="outbox rows")
    p.add_argument("--status", choices=["pending", "sent", "failed", "cancelled"])
    p.add_argument("--json", action="store_true", help="print JSON")
    add_workspace_options(p)
    p.set_defaults(func=cmd_outbox_list)
