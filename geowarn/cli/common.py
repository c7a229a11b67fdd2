"""What every command shares: output and log options, the workspace options, printing tables."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geowarn.api import Workspace

#: Exit status for bad input, configuration, models or output location.
EXIT_USAGE = 2


def add_output_options(p: argparse.ArgumentParser) -> None:
    """``-q/--quiet``, ``--progress/--no-progress`` and ``--log-format``."""
    p.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr; summary still printed")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show a bar")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")
    p.add_argument("--log-format", choices=["logfmt", "json"], default="logfmt", help="log line format on stderr")


def setup_logs(args: argparse.Namespace, level: str = "info") -> None:
    """Log lines on stderr at ``level`` (only errors with ``--quiet``), in ``--log-format``."""
    from geowarn.logs import setup_logging

    setup_logging("error" if args.quiet else level, args.log_format)


def add_workspace_options(p: argparse.ArgumentParser) -> None:
    """``--home`` and ``--db``."""
    p.add_argument("--home", type=Path, help="workspace folder (default $GEOWARN_HOME or ./geowarn-data)")
    p.add_argument("--db", help="database URL (default $GEOWARN_DB or sqlite in the workspace)")


def workspace(args: argparse.Namespace) -> Workspace:
    """The workspace that ``--home`` and ``--db`` name."""
    from geowarn.api import Workspace

    return Workspace(args.db, home=args.home)


def parse_date(text: str) -> date:
    """An argparse type: ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD, e.g. 2026-05-01") from exc


def parse_id(text: str) -> int:
    """An argparse type: a database id (1 to 2**63 - 1)."""
    from geowarn import inputs

    try:
        return inputs.row_id(int(text) if text.strip().lstrip("+-").isdigit() else text)  # type: ignore[arg-type]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def parse_pixels(text: str) -> float:
    """An argparse type: a positive number of pixels (``4e9`` or ``4000000000``)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of pixels; e.g. 1e10")
    return value


def as_dict(row: Any) -> dict[str, Any]:
    """A record (dataclass) or mapping as a plain dict, in field order."""
    if is_dataclass(row) and not isinstance(row, type):
        return asdict(row)
    return dict(row) if isinstance(row, Mapping) else vars(row)


def print_json(data: Any) -> None:
    """``data`` as indented JSON (dates and paths as text)."""
    print(json.dumps(data, indent=2, default=str))


def print_rows(rows: Sequence[Any], as_json: bool, columns: list[str]) -> None:
    """Records as JSON, or as a table of ``columns``."""
    dicts = [as_dict(r) for r in rows]
    if as_json:
        print_json(dicts)
        return
    if not dicts:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in dicts)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in dicts:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))
