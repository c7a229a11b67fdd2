"""``geowarn serve`` as the command runs it, with the toy cascade (no weights needed), for the kill tests.

``python -m tests.service.driver PIPELINES HOME [--once]``; failpoints come from ``$GEOWARN_FAILPOINTS``
and the database from ``$GEOWARN_DB`` as in production.
"""

from __future__ import annotations

import sys
from pathlib import Path

from geowarn.logs import setup_logging
from geowarn.service.programme import load_programmes
from geowarn.service.runtime import Service
from geowarn.service.serve import holding_lock, run_once, serve_forever
from tests.conftest import make_toy_cascade


def main(argv: list[str]) -> int:
    pipelines, home, *rest = argv
    setup_logging("info")
    service = Service(load_programmes(Path(pipelines)), home=Path(home), cascade_factory=lambda _: make_toy_cascade())
    try:
        with holding_lock(service):
            if "--once" in rest:
                print(run_once(service), flush=True)
            else:
                serve_forever(service)
    finally:
        service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
