"""``geowarn site add|list|show`` and ``geowarn survey add``: the monitored sites and their surveys."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geowarn.cli.common import add_workspace_options, as_dict, parse_date, print_json, print_rows, workspace


def cmd_site_add(args: argparse.Namespace) -> int:
    """Create a site."""
    with workspace(args) as ws:
        site = ws.add_site(args.site, args.name, args.config)
    print(f"site {site.site} created" + (f" with rules {args.config}" if args.config else " with default rules"))
    return 0


def cmd_site_list(args: argparse.Namespace) -> int:
    """List sites."""
    with workspace(args) as ws:
        rows = ws.sites()
    cols = ["site", "name", "surveys", "pending", "flagged", "last_survey", "tracks", "level", "unacknowledged"]
    print_rows(rows, args.json, cols)
    return 0


def cmd_site_show(args: argparse.Namespace) -> int:
    """Show one site with its surveys."""
    with workspace(args) as ws:
        detail = as_dict(ws.site(args.site))
        detail["surveys"] = [as_dict(s) for s in ws.surveys(args.site)]
    if args.json:
        print_json(detail)
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
    with workspace(args) as ws:
        print(ws.add_survey(args.site, args.ortho, args.date).message)
    return 0


def add_commands(sub: Any) -> None:
    """``geowarn site`` and ``geowarn survey``."""
    site = sub.add_parser("site", help="add, list and show monitored sites")
    site_sub = site.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    p = site_sub.add_parser("add", help="create a site")
    p.add_argument("site", help="site id: lower-case slug, e.g. north-slope")
    p.add_argument("--name", help="display name (default: the id)")
    p.add_argument("--config", type=Path, help="site YAML: rules, recipients, channels (see config/site.example.yaml)")
    add_workspace_options(p)
    p.set_defaults(func=cmd_site_add)
    p = site_sub.add_parser("list", help="list sites with their level")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_workspace_options(p)
    p.set_defaults(func=cmd_site_list)
    p = site_sub.add_parser("show", help="one site and its surveys")
    p.add_argument("site")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_workspace_options(p)
    p.set_defaults(func=cmd_site_show)

    survey = sub.add_parser("survey", help="add surveys (orthomosaics) to a site")
    survey_sub = survey.add_subparsers(dest="survey_command", required=True, metavar="ACTION")
    p = survey_sub.add_parser("add", help="register an orthomosaic as a pending survey (same file twice: no-op)")
    p.add_argument("site")
    p.add_argument("ortho", type=Path, help="orthomosaic GeoTIFF/COG in the site's CRS")
    p.add_argument("--date", type=parse_date, required=True, help="acquisition date YYYY-MM-DD")
    add_workspace_options(p)
    p.set_defaults(func=cmd_survey_add)
