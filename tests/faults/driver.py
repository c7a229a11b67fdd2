"""One geowarn step run in this process as its command would run it, for the kill tests.

``python -m tests.faults.driver ACTION HOME [ARGS]``: ``monitor`` (with the toy cascade, so that no
weights are needed), ``flush [--all]``, ``add-survey SITE FILE DATE``. Failpoints come from
``$GEOWARN_FAILPOINTS`` as in production; the exit status is 0, or 137 at a failpoint.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from geowarn.workspace import open_workspace


def main(argv: list[str]) -> int:
    action, home, *rest = argv
    ws = open_workspace(Path(home))
    try:
        if action == "monitor":
            from geowarn.pipeline.monitor import Processor, monitor
            from tests.conftest import make_toy_cascade

            today = date.fromisoformat(rest[0])
            report = monitor(ws, processor=Processor(ws, cascade=make_toy_cascade()), today=today)
            print(report)
            return 0 if report.ok else 1
        if action == "flush":
            from geowarn.pipeline.deliver import flush_site_outbox

            print(flush_site_outbox(ws, force="--all" in rest))
            return 0
        if action == "add-survey":
            from geowarn.workspace.sites import add_survey

            site, path, day = rest
            print(add_survey(ws, site, Path(path), date.fromisoformat(day)).message)
            return 0
    finally:
        ws.close()
    raise SystemExit(f"unknown action {action!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
