"""``geowarn dashboard``, ``geowarn users add|list|remove`` and ``geowarn report SITE --html``."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from geowarn.cli.common import add_workspace_options, as_dict, print_rows, workspace
from geowarn.errors import ConfigError


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard until Ctrl-C."""
    from geowarn.dashboard.app import serve

    ws = workspace(args)
    if not ws.users():
        print("no dashboard user yet: add one with: geowarn users add NAME --role admin", file=sys.stderr)
    print(f"geowarn dashboard on http://{args.host}:{args.port}/ (workspace {ws.home}); Ctrl-C stops it")
    try:
        serve(ws, args.host, args.port, secure_cookies=args.secure_cookies)
    finally:
        ws.close()
    return 0


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if args.prompt:
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise ConfigError("password: the two entries differ; type the same password twice")
        return first
    return None


def cmd_users_add(args: argparse.Namespace) -> int:
    """Create a user."""
    sites = [s for s in args.sites.split(",") if s.strip()] if args.sites is not None else None
    with workspace(args) as ws:
        added = ws.add_user(args.username, args.role, _password(args), sites=sites)
    where = "every site" if added.user.sites is None else ", ".join(added.user.sites)
    print(f"user {added.user.username} added as {added.user.role} (sees {where})")
    if added.generated_password:
        print(f"password (shown once): {added.generated_password}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """List users."""
    with workspace(args) as ws:
        rows = [as_dict(u) for u in ws.users()]
    for row in rows:
        row["sites"] = "all" if row["sites"] is None else ",".join(row["sites"])
    print_rows(rows, args.json, ["username", "role", "sites", "created", "last_login"])
    return 0


def cmd_users_remove(args: argparse.Namespace) -> int:
    """Remove a user."""
    with workspace(args) as ws:
        print(ws.remove_user(args.username))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write a self-contained HTML map of a site's latest state."""
    from geowarn.dashboard.report import write_site_report

    with workspace(args) as ws:
        out = write_site_report(ws, args.site, args.html)
    print(f"{out}: the latest state of {args.site}, one self-contained HTML file")
    return 0


def add_commands(sub: Any) -> None:
    """``geowarn dashboard``, ``geowarn users`` and ``geowarn report``."""
    p = sub.add_parser("dashboard", help="serve the map dashboard (sites, cracks, growth, alerts) behind login")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--secure-cookies", action="store_true", help="mark cookies Secure (behind a TLS proxy; automatic on https)"
    )
    add_workspace_options(p)
    p.set_defaults(func=cmd_dashboard)

    users = sub.add_parser("users", help="dashboard accounts: add, list, remove")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    p = users_sub.add_parser("add", help="add a user (a password is generated and shown once unless given)")
    p.add_argument("username")
    p.add_argument(
        "--role",
        choices=["viewer", "geologist", "admin"],
        default="viewer",
        help="viewer: looks; geologist: also acknowledges alerts; admin: everything",
    )
    p.add_argument("--sites", help="comma-separated site ids the user may see (default: every site)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    how.add_argument("--prompt", action="store_true", help="ask for the password (twice)")
    add_workspace_options(p)
    p.set_defaults(func=cmd_users_add)
    p = users_sub.add_parser("list", help="users, by name")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_workspace_options(p)
    p.set_defaults(func=cmd_users_list)
    p = users_sub.add_parser("remove", help="remove a user and sign out its sessions")
    p.add_argument("username")
    add_workspace_options(p)
    p.set_defaults(func=cmd_users_remove)

    p = sub.add_parser("report", help="write a self-contained HTML map of a site's latest state")
    p.add_argument("site")
    p.add_argument("--html", type=Path, required=True, help="output file, e.g. north-slope.html")
    add_workspace_options(p)
    p.set_defaults(func=cmd_report)
