"""``geowarn site add|list|show`` and ``geowarn survey add|retry|replace|remove``: sites and their surveys."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geowarn.cli.common import (
    add_workspace_options,
    as_dict,
    parse_date,
    parse_id,
    parse_pixels,
    print_json,
    print_rows,
    workspace,
)


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
    cols = ["site", "name", "surveys", "pending", "failed", "last_survey", "tracks", "level", "unacknowledged"]
    if any(r.error for r in rows) and not args.json:
        cols.append("error")
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
        if key == "error" and value is None:
            continue
        print(f"{key:>15}: {value}")
    for s in surveys:
        reg = s["registration"]
        reg_text = "-" if reg is None else ("ok" if reg["ok"] else "FAILED")
        if reg and reg["dx_m"] is not None:
            reg_text += f" dx={reg['dx_m']:+.3f} dy={reg['dy_m']:+.3f} m onto the previous survey"
        if reg and not reg["ok"] and reg.get("reason"):
            reg_text += f" ({reg['reason']})"
        print(f"  survey {s['id']:>4}  {s['date']}  {s['status']:<9} registration {reg_text}  {s['path']}")
        if s["error"]:
            print(f"        error: {s['error']}")
    return 0


def cmd_survey_add(args: argparse.Namespace) -> int:
    """Register an orthomosaic as a pending survey."""
    with workspace(args) as ws:
        print(ws.add_survey(args.site, args.ortho, args.date, max_pixels=args.max_pixels).message)
    return 0


def cmd_survey_retry(args: argparse.Namespace) -> int:
    """Make a failed survey pending again."""
    with workspace(args) as ws:
        print(ws.retry_survey(args.site, args.survey).message)
    return 0


def cmd_survey_replace(args: argparse.Namespace) -> int:
    """Give a pending or failed survey another file."""
    with workspace(args) as ws:
        print(ws.replace_survey(args.site, args.survey, args.ortho, max_pixels=args.max_pixels).message)
    return 0


def cmd_survey_remove(args: argparse.Namespace) -> int:
    """Delete a pending or failed survey."""
    with workspace(args) as ws:
        print(ws.remove_survey(args.site, args.survey))
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

    survey = sub.add_parser(
        "survey",
        help="add surveys (orthomosaics) to a site; retry, replace or remove one that failed",
        description="A site's surveys are processed in date order. A survey that failed (see geowarn site show) "
        "can be retried as it is, given another file, or removed; processed and flagged surveys are part of the "
        "site's history and stay.",
    )
    survey_sub = survey.add_subparsers(dest="survey_command", required=True, metavar="ACTION")
    p = survey_sub.add_parser("add", help="register an orthomosaic as a pending survey (same file twice: no-op)")
    p.add_argument("site")
    p.add_argument("ortho", type=Path, help="orthomosaic GeoTIFF/COG in the site's CRS")
    p.add_argument(
        "--date", type=parse_date, required=True, help="acquisition date YYYY-MM-DD, after the site's latest survey"
    )
    _add_max_pixels(p)
    add_workspace_options(p)
    p.set_defaults(func=cmd_survey_add)
    p = survey_sub.add_parser("retry", help="make a failed survey pending again (next monitor processes it)")
    p.add_argument("site")
    p.add_argument("survey", type=parse_id, help="survey id (geowarn site show SITE)")
    add_workspace_options(p)
    p.set_defaults(func=cmd_survey_retry)
    p = survey_sub.add_parser("replace", help="give a pending or failed survey another file (same date)")
    p.add_argument("site")
    p.add_argument("survey", type=parse_id, help="survey id (geowarn site show SITE)")
    p.add_argument("ortho", type=Path, help="the orthomosaic to use instead")
    _add_max_pixels(p)
    add_workspace_options(p)
    p.set_defaults(func=cmd_survey_replace)
    p = survey_sub.add_parser("remove", help="delete a pending or failed survey (its date can be added again)")
    p.add_argument("site")
    p.add_argument("survey", type=parse_id, help="survey id (geowarn site show SITE)")
    add_workspace_options(p)
    p.set_defaults(func=cmd_survey_remove)


def _add_max_pixels(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-pixels",
        type=parse_pixels,
        help="largest orthomosaic accepted, in pixels (default $GEOWARN_MAX_PIXELS, else 4e9)",
    )
