"""The ``geowarn`` command: one subcommand group per module of this package, each a thin layer over the API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from geowarn.cli import alerts, demo, detect, evaluate, models, monitor, scenario, sites, train
from geowarn.cli.common import EXIT_USAGE
from geowarn.errors import GeowarnError
from geowarn.version import __version__

#: Command groups in the order ``geowarn --help`` lists them.
COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    detect.add_commands,
    demo.add_commands,
    models.add_models_command,
    evaluate.add_commands,
    models.add_export_command,
    sites.add_commands,
    monitor.add_commands,
    alerts.add_alerts_commands,
    alerts.add_outbox_commands,
    scenario.add_commands,
    train.add_commands,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="geowarn",
        description="Landslide early warning from UAV orthomosaics: detect, measure and track surface cracks.",
    )
    parser.add_argument("--version", action="version", version=f"geowarn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input/config/models/output)."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except GeowarnError as exc:
        print(f"geowarn: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("geowarn: interrupted; no partial outputs were kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
