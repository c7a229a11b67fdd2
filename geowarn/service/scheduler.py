"""APScheduler 3 with its job store in the geowarn database: the jobs of the programmes and their triggers.

Jobs are stored (``SQLAlchemyJobStore``, table ``apscheduler_jobs``, created by geowarn's migrations)
so that their next fire times survive restarts; every job runs at most one instance at a time; runs
missed during downtime coalesce into one, run if at most ``misfire_grace_seconds`` late. A job kept
from an earlier start keeps its next fire time unless its trigger changed. The lock-renewal job runs
in memory every :data:`HEARTBEAT_SECONDS` on its own thread, and so also wakes the scheduler to see
jobs that ``geowarn jobs run`` moved to now from another process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from geowarn.service.jobs import JOB_FUNC
from geowarn.service.programme import Programmes, ServiceSettings
from geowarn.store.db import Store

#: Seconds between renewals of the service lock.
HEARTBEAT_SECONDS = 10.0
#: Order in which ``--once`` runs due jobs: ingest before the overdue check, reminders before the outbox.
RUN_ORDER = ("ingest", "overdue", "reminders", "outbox")


@dataclass(frozen=True)
class JobSpec:
    """A job the programmes call for: its id, a description and when it fires."""

    id: str
    name: str
    trigger: BaseTrigger


def job_specs(programmes: Programmes) -> list[JobSpec]:
    """Every job of the programmes, in run order."""
    settings = programmes.service
    specs = []
    for slug, site in sorted(programmes.sites.items()):
        specs.append(
            JobSpec(
                f"ingest:{slug}",
                f"watch {site.drop_folder}, ingest new surveys of {slug}, monitor, send alerts",
                IntervalTrigger(seconds=site.scan_every_seconds, timezone="UTC"),
            )
        )
    for slug in sorted(programmes.sites):
        specs.append(
            JobSpec(
                f"overdue:{slug}",
                f"raise 'no data' when {slug}'s latest survey is overdue",
                IntervalTrigger(minutes=settings.overdue_check_minutes, timezone="UTC"),
            )
        )
    specs.append(
        JobSpec(
            "reminders",
            "remind of unacknowledged orange/red alerts",
            IntervalTrigger(minutes=settings.reminders.every_minutes, timezone="UTC"),
        )
    )
    specs.append(
        JobSpec(
            "outbox",
            "send due deliveries, retrying with back-off",
            IntervalTrigger(seconds=settings.outbox_flush_seconds, timezone="UTC"),
        )
    )
    return specs


class StoredJobsScheduler(BackgroundScheduler):  # type: ignore[misc]
    """APScheduler's background scheduler, which runs jobs only while running.

    APScheduler 3 looks for due jobs once more after ``shutdown`` and, finding its executors shut
    down, moves them to their next time without running them; a paused scheduler (``jobs list``,
    ``--once``) shut down in the same way would do that to the stored jobs of the running service.
    """

    def _process_jobs(self) -> float | None:
        if self.state != STATE_RUNNING:
            return None
        wait: float | None = super()._process_jobs()
        return wait


def build_scheduler(store: Store, settings: ServiceSettings) -> BackgroundScheduler:
    """A scheduler whose jobs live in ``store`` (not started)."""
    return StoredJobsScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=store.engine), "local": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(settings.workers), "lock": ThreadPoolExecutor(1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(settings.misfire_grace_seconds),
        },
        timezone="UTC",
    )


def sync_jobs(scheduler: BackgroundScheduler, programmes: Programmes, now: datetime) -> list[str]:
    """Make the stored jobs those of the programmes; returns one line per job added, changed or removed.

    A new or changed job fires at ``now``; an unchanged one keeps its stored next fire time.
    """
    stored: dict[str, Job] = {job.id: job for job in scheduler.get_jobs(jobstore="default")}
    changes = []
    for spec in job_specs(programmes):
        job = stored.pop(spec.id, None)
        if job is not None and job.func_ref == JOB_FUNC and str(job.trigger) == str(spec.trigger):
            if job.name != spec.name:
                job.modify(name=spec.name)
            continue
        scheduler.add_job(
            JOB_FUNC,
            trigger=spec.trigger,
            args=[spec.id],
            id=spec.id,
            name=spec.name,
            jobstore="default",
            replace_existing=True,
            next_run_time=now,
        )
        changes.append(f"job {spec.id} {'changed' if job is not None else 'added'} ({spec.trigger})")
    for job_id in stored:
        scheduler.remove_job(job_id, jobstore="default")
        changes.append(f"job {job_id} removed (no longer in the programmes)")
    return changes


def add_heartbeat(scheduler: BackgroundScheduler, now: datetime) -> None:
    """The in-memory job that renews the service lock."""
    scheduler.add_job(
        JOB_FUNC,
        trigger=IntervalTrigger(seconds=HEARTBEAT_SECONDS, timezone="UTC"),
        args=["lock"],
        id="lock",
        name="renew the service lock",
        jobstore="local",
        executor="lock",
        next_run_time=now + timedelta(seconds=HEARTBEAT_SECONDS),
        misfire_grace_time=None,
    )


def run_order(job_id: str) -> tuple[int, str]:
    """Sort key: :data:`RUN_ORDER`, then the id."""
    kind = job_id.partition(":")[0]
    return (RUN_ORDER.index(kind) if kind in RUN_ORDER else len(RUN_ORDER), job_id)


def due_jobs(scheduler: BackgroundScheduler, now: datetime) -> list[Job]:
    """The stored jobs due at ``now``, in run order."""
    due = [j for j in scheduler.get_jobs(jobstore="default") if j.next_run_time is not None and j.next_run_time <= now]
    return sorted(due, key=lambda j: run_order(j.id))


def advance(job: Job, now: datetime) -> datetime | None:
    """Move a job that just ran to its next fire time after ``now`` (missed runs coalesced); returns it."""
    following: datetime | None = job.trigger.get_next_fire_time(now, now)
    job.modify(next_run_time=following)
    return following
