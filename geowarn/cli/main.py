"""The ``geowarn`` command: one subcommand group per module of this package, each a thin layer over the API."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from types import FrameType

from geowarn.cli import alerts, dashboard, demo, detect, evaluate, models, monitor, scenario, service, sites, train
from geowarn.cli.common import EXIT_USAGE
from geowarn.errors import GeowarnError
from geowarn.redact import redact
from geowarn.version import __version__

#: Set to 1 to print the (redacted) traceback of an unexpected error.
DEBUG_ENV = "GEOWARN_DEBUG"
#: Exit status of an unexpected error (a bug), and of a run stopped by SIGTERM.
EXIT_INTERNAL = 1
EXIT_TERMINATED = 143

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
    service.add_serve_command,
    service.add_jobs_commands,
    dashboard.add_commands,
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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so that every ``finally`` (staging folders, transactions) runs."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 failed deliveries or sites, 2 bad input/config/models/output).

    Every error is one line on stderr with secrets masked; an unexpected one (a bug) also says how to
    get its traceback (``GEOWARN_DEBUG=1``).
    """
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        return func(args)
    except GeowarnError as exc:
        print(f"geowarn: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Terminated:
        print("geowarn: terminated (SIGTERM); no partial outputs were kept", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("geowarn: interrupted; no partial outputs were kept", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get(DEBUG_ENV) == "1":
            print(redact("".join(traceback.format_exception(exc))), file=sys.stderr, end="")
        print(
            f"geowarn: internal error: {type(exc).__name__}: {_one_line(exc)}; this is a bug, please report it "
            f"with the output of the same command run with {DEBUG_ENV}=1",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _one_line(exc: BaseException) -> str:
    """The error's message with secrets masked (its own line breaks kept: one line per problem)."""
    return redact(str(exc))


if __name__ == "__main__":
    sys.exit(main())
