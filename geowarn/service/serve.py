"""Run the service: take the database's service lock, then run the scheduler until SIGTERM/SIGINT, or run once.

On SIGTERM or SIGINT the scheduler starts no new job and waits for those running; an ingest stops
after the file in progress (whose survey is either stored whole or not at all). A second signal
exits at once: the survey in progress is not stored and is read again at the next start.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from geowarn.logs import log_event
from geowarn.redact import redact_url
from geowarn.scale.cluster import SharedClusters
from geowarn.service import jobs, lock
from geowarn.service.runtime import Service
from geowarn.service.scheduler import add_heartbeat, advance, build_scheduler, due_jobs, sync_jobs

log = logging.getLogger("geowarn.service")

#: Exit status when a second signal stops the service at once.
EXIT_AT_ONCE = 143
#: Seconds between looks at the stop flag in the main thread.
POLL_SECONDS = 0.5


@dataclass
class OnceReport:
    """What ``--once`` did: each due job's id and result."""

    ran: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.ran:
            return "no job due"
        return "\n".join(f"{job_id}: {result}" for job_id, result in self.ran)


@contextmanager
def holding_lock(service: Service) -> Iterator[None]:
    """The service lock for the duration (``LockHeldError`` when another service has it)."""
    lock.acquire(service.store, service.owner, now=service.clock())
    try:
        yield
    finally:
        lock.release(service.store, service.owner)


def run_once(service: Service) -> OnceReport:
    """Run every due job once, in order (ingest, overdue checks, reminders, outbox), and move each to its next time."""
    report = OnceReport()
    jobs.bind(service)
    scheduler = build_scheduler(service.store, service.programmes.service)
    scheduler.start(paused=True)
    try:
        with SharedClusters():  # sites' surveys share one client per Dask cluster
            now = service.clock()
            for line in service.register_sites() + sync_jobs(scheduler, service.programmes, now):
                log_event(log, line)
            for job in due_jobs(scheduler, now):
                report.ran.append((job.id, service.run_job(job.id)))
                advance(job, service.clock())
    finally:
        scheduler.shutdown(wait=False)
        jobs.bind(None)
    return report


@contextmanager
def _stop_on_signals(service: Service) -> Iterator[None]:
    """First SIGTERM/SIGINT: stop gracefully; the second: exit at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if service.stop_event.is_set():
            log_event(log, "second signal: exiting at once", level=logging.WARNING, signal=name)
            os._exit(EXIT_AT_ONCE)
        log_event(
            log,
            "stopping: finishing the jobs in progress (signal again to exit at once)",
            signal=name,
        )
        service.stop_event.set()

    previous: dict[int, Any] = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def serve_forever(service: Service) -> None:
    """Run the scheduler until a signal or the loss of the service lock."""
    jobs.bind(service)
    scheduler = build_scheduler(service.store, service.programmes.service)
    _route_scheduler_logs()
    with _stop_on_signals(service), SharedClusters():  # sites' surveys share one client per Dask cluster
        scheduler.start(paused=True)
        try:
            now = service.clock()
            for line in service.register_sites() + sync_jobs(scheduler, service.programmes, now):
                log_event(log, line)
            add_heartbeat(scheduler, now)
            scheduler.resume()
            log_event(
                log,
                "service started",
                db=redact_url(service.url),
                home=str(service.home),
                sites=",".join(sorted(service.programmes.sites)),
                jobs=len(scheduler.get_jobs()),
            )
            while not service.stop_event.wait(POLL_SECONDS):
                pass
        finally:
            scheduler.shutdown(wait=True)
            jobs.bind(None)
    log_event(log, "service stopped")


def _not_still_running(record: logging.LogRecord) -> bool:
    """Drop APScheduler's "skipped: maximum number of running instances" (a long ingest outlasting its interval)."""
    return "maximum number of running instances" not in record.getMessage()


def _route_scheduler_logs() -> None:
    """APScheduler's warnings (missed runs, errors) on geowarn's log handler."""
    ours = logging.getLogger("geowarn")
    theirs = logging.getLogger("apscheduler")
    theirs.handlers[:] = list(ours.handlers)
    theirs.setLevel(logging.WARNING)
    theirs.propagate = False
    if _not_still_running not in theirs.filters:
        theirs.addFilter(_not_still_running)
