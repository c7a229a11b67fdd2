"""``geowarn serve`` (the scheduled ingestion service) and ``geowarn jobs list|run``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geowarn.cli.common import add_output_options, print_json, print_rows, setup_logs

#: Exit status when a job failed (``--once``, ``jobs run``) or the service lost its lock.
EXIT_FAILED = 1


def _service(args: argparse.Namespace) -> Any:
    from geowarn.service.programme import load_programmes
    from geowarn.service.runtime import Service

    return Service(load_programmes(args.pipelines), db=args.db, home=args.home)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the service (or, with ``--once``, every due job once)."""
    from geowarn.service import results
    from geowarn.service.serve import holding_lock, run_once, serve_forever

    setup_logs(args)
    service = _service(args)
    try:
        with holding_lock(service):
            if args.once:
                report = run_once(service)
                print(report)
                last = results.last_runs(service.store)
                failed = [job for job, _ in report.ran if last.get(job) and last[job].status == "failed"]
                return EXIT_FAILED if failed else 0
            serve_forever(service)
            return EXIT_FAILED if service.stop_event.is_set() and _lock_lost(service) else 0
    finally:
        service.close()


def _lock_lost(service: Any) -> bool:
    from geowarn.service import lock

    return bool(lock.holder(service.store) != service.owner)


def cmd_jobs_list(args: argparse.Namespace) -> int:
    """List the stored jobs with their next fire time and last result."""
    from datetime import UTC, datetime

    from geowarn.service import lock, results
    from geowarn.service.programme import ServiceSettings
    from geowarn.service.scheduler import build_scheduler, run_order
    from geowarn.store.db import open_store

    url = _database_url(args)
    store = open_store(url)
    try:
        scheduler = build_scheduler(store, ServiceSettings())
        scheduler.start(paused=True)
        try:
            stored = sorted(scheduler.get_jobs(jobstore="default"), key=lambda j: run_order(j.id))
        finally:
            scheduler.shutdown(wait=False)
        last = results.last_runs(store)
        state = lock.lock_state(store)
    finally:
        store.close()
    rows = []
    for job in stored:
        run = last.get(job.id)
        rows.append(
            {
                "job": job.id,
                "next_fire_utc": f"{job.next_run_time:%Y-%m-%d %H:%M:%S}" if job.next_run_time else "paused",
                "every": str(job.trigger).removeprefix("interval[").removesuffix("]"),
                "last_status": run.status if run else "never run",
                "last_finished_utc": f"{run.finished_at:%Y-%m-%d %H:%M:%S}" if run and run.finished_at else "",
                "runs": run.runs if run else 0,
                "last_result": (run.message or "")[:100] if run else "",
            }
        )
    if args.json:
        print_json(rows)
        return 0
    running = lock.holder_running(state, datetime.now(UTC))
    print(f"service: {'running (' + state.holder + ')' if running and state else 'not running'}")
    print_rows(
        rows, False, ["job", "next_fire_utc", "every", "last_status", "last_finished_utc", "runs", "last_result"]
    )
    return 0


def _database_url(args: argparse.Namespace) -> str:
    import os

    from geowarn.service.programme import load_programmes
    from geowarn.service.runtime import database_url
    from geowarn.store.db import DB_ENV, default_url
    from geowarn.workspace import resolve_home

    if args.pipelines is not None:
        programmes = load_programmes(args.pipelines)
        return database_url(args.db, programmes, resolve_home(args.home or programmes.service.home))
    return args.db or os.environ.get(DB_ENV) or default_url(resolve_home(args.home))


def cmd_jobs_run(args: argparse.Namespace) -> int:
    """Run one job now: in the running service if there is one, else here."""
    from geowarn.errors import ConfigError
    from geowarn.service import lock, results
    from geowarn.service.scheduler import build_scheduler
    from geowarn.service.serve import holding_lock

    setup_logs(args)
    service = _service(args)
    try:
        now = service.clock()
        state = lock.lock_state(service.store)
        if lock.holder_running(state, now) and state is not None and state.holder != service.owner:
            scheduler = build_scheduler(service.store, service.programmes.service)
            scheduler.start(paused=True)
            try:
                if scheduler.get_job(args.job, jobstore="default") is None:
                    known = ", ".join(j.id for j in scheduler.get_jobs(jobstore="default"))
                    raise ConfigError(f"no job {args.job!r} in the running service; its jobs are: {known}")
                scheduler.modify_job(args.job, jobstore="default", next_run_time=now)
            finally:
                scheduler.shutdown(wait=False)
            print(f"job {args.job} moved to now: the running service ({state.holder}) starts it within seconds")
            return 0
        with holding_lock(service):
            service.register_sites()
            message = service.run_job(args.job)
        print(f"{args.job}: {message}")
        run = results.last_runs(service.store).get(args.job)
        return EXIT_FAILED if run is not None and run.status == "failed" else 0
    finally:
        service.close()


def _database_options(p: argparse.ArgumentParser, pipelines_required: bool) -> None:
    p.add_argument(
        "--pipelines",
        type=Path,
        required=pipelines_required,
        metavar="DIR",
        help="folder of programme YAML files (see pipelines/README.md)",
    )
    p.add_argument(
        "--db", help="database URL (default $GEOWARN_DB, the programmes' service.database, or SQLite in --home)"
    )
    p.add_argument("--home", type=Path, help="workspace folder (default service.home, $GEOWARN_HOME or ./geowarn-data)")


def add_serve_command(sub: Any) -> None:
    """``geowarn serve``."""
    p = sub.add_parser(
        "serve",
        help="run the scheduled survey-ingestion service",
        description="Watch each site's drop folder, ingest complete new surveys exactly once, monitor them, "
        "send alerts through the outbox with retry, remind of unacknowledged alerts and raise 'no data' for "
        "overdue surveys, on the schedules the programmes set. Jobs are stored in the database; one service "
        "runs per database. SIGTERM/SIGINT stop it after the work in progress.",
    )
    _database_options(p, True)
    p.add_argument("--once", action="store_true", help="run every due job once and exit (for cron and tests)")
    add_output_options(p)
    p.set_defaults(func=cmd_serve)


def add_jobs_commands(sub: Any) -> None:
    """``geowarn jobs list`` and ``geowarn jobs run``."""
    jobs = sub.add_parser("jobs", help="the service's scheduled jobs").add_subparsers(
        dest="jobs_command", required=True, metavar="ACTION"
    )
    p = jobs.add_parser(
        "list",
        help="jobs with next fire time and last result",
        description="Every stored job of the service, its next fire time (UTC), interval and last result.",
    )
    _database_options(p, False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_jobs_list)
    p = jobs.add_parser(
        "run",
        help="run one job now",
        description="Run JOB (e.g. ingest:north-slope, overdue:north-slope, reminders, outbox) now: in the "
        "running service when there is one (it starts within seconds), else in this process.",
    )
    p.add_argument("job", help="the job's id, as 'geowarn jobs list' shows it")
    _database_options(p, True)
    add_output_options(p)
    p.set_defaults(func=cmd_jobs_run)
