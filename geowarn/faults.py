"""Failpoints for crash tests: ``GEOWARN_FAILPOINTS=name[@n][,name[@n]]`` makes the process die at that point.

The process exits at once with status 137 (as if killed), without cleanup or commit, so tests can
check that nothing is lost or duplicated when the real process is killed at the worst moment.
``name@n`` dies the n-th time the point is reached (``outbox.after-send@3``: after the third send);
``name`` alone the first time. :data:`FAILPOINTS` lists every point, in the order a run meets them.
Counts are per process; with ``GEOWARN_FAILPOINTS_ONCE=DIR`` a point kills only the first process
that reaches it (it claims the file ``DIR/name``), so a process that is restarted and runs the
same work again (a Dask worker) is not killed again.
"""

from __future__ import annotations

import os
import sys
from collections import Counter

FAILPOINTS_ENV = "GEOWARN_FAILPOINTS"
FAILPOINTS_ONCE_ENV = "GEOWARN_FAILPOINTS_ONCE"

#: Every failpoint, by command: where ``survey add``, ``monitor`` and ``outbox flush`` can be killed.
FAILPOINTS: tuple[str, ...] = (
    "survey-add.after-validate",  # the file checked and hashed, nothing stored yet
    "survey-add.before-commit",  # the survey row written, not committed
    "survey-add.after-commit",  # committed, the command not finished
    "monitor.before-store",  # a survey detected and registered, its transaction not begun
    "monitor.before-commit",  # a survey's run, cracks, tracks, assessment, alert and outbox rows written, not committed
    "monitor.fail-before-commit",  # a failed survey's status and "no data" alert written, not committed
    "monitor.before-deliver",  # every site done, nothing sent
    "outbox.after-claim",  # a delivery leased, not sent
    "outbox.after-send",  # a delivery sent, not recorded
    "outbox.after-record",  # a delivery recorded as sent (or to retry)
    "scale.block-started",  # a Dask worker has written the first rows of a block, not handed it over
)

_reached: Counter[str] = Counter()


def _armed() -> dict[str, int]:
    armed: dict[str, int] = {}
    for item in os.environ.get(FAILPOINTS_ENV, "").split(","):
        name, _, nth = item.strip().partition("@")
        if name:
            armed[name] = int(nth) if nth.isdigit() and int(nth) > 0 else 1
    return armed


def failpoint(name: str) -> None:
    """Die here when ``name`` is armed in ``$GEOWARN_FAILPOINTS`` and reached for the armed time."""
    armed = _armed()
    if name not in armed:
        return
    _reached[name] += 1
    if _reached[name] == armed[name] and _claim(name):
        sys.stderr.write(f"geowarn: failpoint {name}@{armed[name]} reached, exiting\n")
        sys.stderr.flush()
        os._exit(137)


def _claim(name: str) -> bool:
    """True unless ``$GEOWARN_FAILPOINTS_ONCE`` is set and another process already died at ``name``."""
    folder = os.environ.get(FAILPOINTS_ONCE_ENV)
    if not folder:
        return True
    try:
        os.close(os.open(os.path.join(folder, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True
