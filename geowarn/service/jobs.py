"""The scheduled jobs, importable by dotted path (APScheduler stores ``geowarn.service.jobs:run_job``).

A stored job holds only its id (``ingest:SITE``, ``overdue:SITE``, ``outbox``, ``reminders``,
``lock``); the running service (:func:`bind`) knows what each id does.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geowarn.service.runtime import Service

#: The dotted path APScheduler stores for every job.
JOB_FUNC = "geowarn.service.jobs:run_job"

_bound: Service | None = None
_guard = threading.Lock()


def bind(service: Service | None) -> None:
    """Make ``service`` the one that runs the jobs of this process (None: unbind)."""
    global _bound
    with _guard:
        _bound = service


def run_job(job_id: str) -> str:
    """Run the job ``job_id`` with the bound service; returns what it did."""
    service = _bound
    if service is None:
        raise RuntimeError(f"job {job_id} fired with no geowarn service running in this process")
    return service.run_job(job_id)
