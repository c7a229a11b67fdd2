"""Schedules checked by their fire times with a controlled clock, never by sleeping."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from geowarn.service.programme import load_programmes
from geowarn.service.scheduler import advance, build_scheduler, due_jobs, job_specs, sync_jobs
from geowarn.store.db import default_url, open_store

pytestmark = pytest.mark.usefixtures("db_backend")

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def started(store: Any, programmes: Any) -> Any:
    scheduler = build_scheduler(store, programmes.service)
    scheduler.start(paused=True)
    return scheduler


def test_fire_times_follow_the_programme(programme_dir: Any) -> None:
    service = "service: {outbox_flush_seconds: 30, reminders: {every_minutes: 15}, overdue_check_minutes: 60}\n"
    programmes = load_programmes(programme_dir(service=service, scan_every_seconds=20))
    specs = {s.id: s.trigger for s in job_specs(programmes)}
    assert list(specs) == ["ingest:slope-a", "overdue:slope-a", "reminders", "outbox"]
    every = {job: trigger.get_next_fire_time(T0, T0) - T0 for job, trigger in specs.items()}
    assert every == {
        "ingest:slope-a": timedelta(seconds=20),
        "overdue:slope-a": timedelta(hours=1),
        "reminders": timedelta(minutes=15),
        "outbox": timedelta(seconds=30),
    }


def test_stored_jobs_keep_their_fire_times_across_restarts_and_missed_runs_coalesce(
    programme_dir: Any, tmp_path: Path
) -> None:
    programmes = load_programmes(programme_dir(scan_every_seconds=60))
    store = open_store(default_url(tmp_path / "home"))
    first = started(store, programmes)
    added = sync_jobs(first, programmes, T0)
    assert len(added) == 4 and all("added" in line for line in added)
    assert [j.id for j in due_jobs(first, T0)] == ["ingest:slope-a", "overdue:slope-a", "reminders", "outbox"]
    for job in due_jobs(first, T0):
        advance(job, T0)
    assert due_jobs(first, T0 + timedelta(seconds=59)) == []
    first.shutdown(wait=False)

    # a restart three hours later: the stored jobs stand, each runs once (not 180 times), then resumes
    later = T0 + timedelta(hours=3, seconds=5)
    second = started(store, programmes)
    assert sync_jobs(second, programmes, later) == []
    stored = {j.id: j.next_run_time for j in second.get_jobs(jobstore="default")}
    assert stored["ingest:slope-a"] == T0 + timedelta(seconds=60)
    due = due_jobs(second, later)
    assert len(due) == 4
    ingest = next(j for j in due if j.id == "ingest:slope-a")
    assert advance(ingest, later) == later + timedelta(seconds=60)
    assert ingest.coalesce and ingest.max_instances == 1 and ingest.misfire_grace_time == 3600
    second.shutdown(wait=False)

    # a changed programme reschedules its job now, and a removed site's jobs go
    (programme_dir(scan_every_seconds=5).parent / "pipelines" / "sites.yaml").write_text(
        f"sites:\n  - {{site: slope-b, drop_folder: {tmp_path / 'drop'}}}\n"
    )
    third = started(store, load_programmes(tmp_path / "pipelines"))
    changes = sync_jobs(third, load_programmes(tmp_path / "pipelines"), later)
    assert sorted(changes) == sorted(
        [
            "job ingest:slope-b added (interval[0:01:00])",
            "job overdue:slope-b added (interval[1:00:00])",
            "job ingest:slope-a removed (no longer in the programmes)",
            "job overdue:slope-a removed (no longer in the programmes)",
        ]
    )
    third.shutdown(wait=False)
    store.close()
