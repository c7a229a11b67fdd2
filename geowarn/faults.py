"""Failpoints for crash tests: ``GEOWARN_FAILPOINTS=name[,name]`` makes the process die at that point.

The process exits at once with status 137 (as if killed), without cleanup or commit, so tests can
check that nothing is lost or duplicated when the real process is killed at the worst moment.
"""

from __future__ import annotations

import os
import sys

FAILPOINTS_ENV = "GEOWARN_FAILPOINTS"


def failpoint(name: str) -> None:
    """Die here when ``name`` is listed in ``$GEOWARN_FAILPOINTS``."""
    if name in os.environ.get(FAILPOINTS_ENV, "").split(","):
        sys.stderr.write(f"geowarn: failpoint {name} reached, exiting\n")
        sys.stderr.flush()
        os._exit(137)
