"""The last run of each scheduled job (``job_results``), shown by ``geowarn jobs list``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from geowarn.store.db import Store
from geowarn.store.schema import JobResult


@dataclass(frozen=True)
class LastRun:
    """How a job's last run went."""

    job_id: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    message: str | None
    runs: int


def record_start(store: Store, job_id: str, now: datetime, host: str) -> None:
    """Mark the job running."""
    with store.transaction() as session:
        row = session.get(JobResult, job_id)
        if row is None:
            row = JobResult(job_id=job_id, runs=0)
            session.add(row)
        row.started_at, row.finished_at, row.status, row.host = now, None, "running", host
        row.message = None


def record_end(store: Store, job_id: str, now: datetime, status: str, message: str) -> None:
    """Store the outcome (``ok``, ``failed`` or ``stopped``) of the job's run."""
    with store.transaction() as session:
        row = session.get(JobResult, job_id)
        if row is None:
            return
        row.finished_at, row.status, row.message = now, status, message[:2000]
        row.runs = (row.runs or 0) + 1


def last_runs(store: Store) -> dict[str, LastRun]:
    """Every job's last run, by job id."""
    with store.transaction() as session:
        return {
            r.job_id: LastRun(r.job_id, r.started_at, r.finished_at, r.status, r.message, r.runs)
            for r in session.scalars(select(JobResult))
        }
