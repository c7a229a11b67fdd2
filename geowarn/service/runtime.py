"""The service's work: register the programmes' sites, then run each job (ingest, overdue, outbox, reminders).

Every job is one site's or one service-wide unit: whatever goes wrong in it is recorded (its
result, the refused file, the failed survey or site) and logged, and never stops the other jobs.
Per site, ingest and overdue checks never run at once. Surveys, monitoring and alerts go through
the public API (:class:`geowarn.api.Workspace`); the service keeps only its ledger of files, its
lock and its job results.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from geowarn.errors import ConfigError, GeowarnError
from geowarn.logs import log_event
from geowarn.pipeline.deliver import reason
from geowarn.redact import redact_url
from geowarn.service import dropfolder, lock, results
from geowarn.service.acquisition import acquisition_date
from geowarn.service.programme import Programmes, SiteProgramme
from geowarn.store.db import DB_ENV, Store, open_store, sqlite_url
from geowarn.store.lease import this_process
from geowarn.store.queries import get_site
from geowarn.workspace import resolve_home

if TYPE_CHECKING:
    from geowarn.api import Workspace
    from geowarn.inference.cascade import Cascade
    from geowarn.pipeline.detect_config import DetectConfig

log = logging.getLogger("geowarn.service")

#: Seconds between "still ingesting" log lines (which also renew the file's claim).
PROGRESS_SECONDS = 30.0

Clock = Callable[[], datetime]
CascadeFactory = Callable[["DetectConfig"], "Cascade"]


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def database_url(db: str | None, programmes: Programmes, home: Path) -> str:
    """``--db``, else ``$GEOWARN_DB``, else the programmes' ``service.database``, else SQLite in ``home``."""
    return db or os.environ.get(DB_ENV) or programmes.service.database or sqlite_url(home / "geowarn.db")


class Service:
    """The ingestion service of one database: its programmes, workspace, own store and jobs.

    Args:
        programmes: the loaded ``pipelines/`` folder.
        db: the database URL (see :func:`database_url`).
        home: the workspace folder (default ``service.home``, ``$GEOWARN_HOME``, ``./geowarn-data``).
        cascade_factory: loads the models for detect settings, once per distinct settings
            (default: ``geowarn.pipeline.rows.load_cascade``).
        clock: the current time (tests pass a controlled one).

    """

    def __init__(
        self,
        programmes: Programmes,
        *,
        db: str | None = None,
        home: Path | None = None,
        cascade_factory: CascadeFactory | None = None,
        clock: Clock = utc_now,
    ) -> None:
        from geowarn.api import Workspace

        self.programmes = programmes
        self.home = resolve_home(home or programmes.service.home)
        self.url = database_url(db, programmes, self.home)
        self.workspace: Workspace = Workspace(self.url, home=self.home)
        self.store: Store = open_store(self.url)
        self.owner = str(this_process())
        self.clock = clock
        self.stop_event = threading.Event()
        self._cascade_factory = cascade_factory or _load_cascade
        self._cascades: dict[str, Cascade] = {}
        self._cascade_guard = threading.Lock()
        self._site_guards = {slug: threading.Lock() for slug in programmes.sites}

    def __repr__(self) -> str:
        return f"Service({str(self.programmes.folder)!r}, db={redact_url(self.url)!r})"

    def close(self) -> None:
        self.workspace.close()
        self.store.close()

    # --- start-up

    def register_sites(self) -> list[str]:
        """Create the programmes' sites that the database lacks, and keep their names and YAMLs current.

        Returns:
            One line per site created or changed.

        """
        changes = []
        known = {info.site: info for info in self.workspace.sites()}
        for slug, programme in self.programmes.sites.items():
            config = str(programme.config) if programme.config else None
            info = known.get(slug)
            if info is None:
                self.workspace.add_site(slug, programme.name, programme.config)
                changes.append(f"site {slug} added")
            elif info.config != config and config is not None:
                self.workspace.configure_site(slug, config=config)
                changes.append(f"site {slug} now reads {config}")
            if programme.name is not None and info is not None and info.name != programme.name:
                self.workspace.configure_site(slug, name=programme.name)
        return changes

    # --- jobs

    def run_job(self, job_id: str) -> str:
        """Run one job, recording its start and outcome; returns what it did (never raises, except on a bad id)."""
        work = self._job(job_id)
        started = time.monotonic()
        results.record_start(self.store, job_id, self.clock(), self.owner)
        try:
            message = work()
        except Exception as exc:  # one job's failure never stops the service or the other jobs
            message = reason(exc)
            results.record_end(self.store, job_id, self.clock(), "failed", message)
            log_event(log, "job failed", level=logging.ERROR, job=job_id, error=message)
            return message
        status = "stopped" if self.stop_event.is_set() and job_id.startswith("ingest:") else "ok"
        results.record_end(self.store, job_id, self.clock(), status, message)
        log_event(log, "job done", job=job_id, result=message, seconds=round(time.monotonic() - started, 3))
        return message

    def _job(self, job_id: str) -> Callable[[], str]:
        kind, _, site = job_id.partition(":")
        if kind in ("ingest", "overdue") and site in self.programmes.sites:
            return (lambda: self.ingest_site(site)) if kind == "ingest" else (lambda: self.check_overdue(site))
        if job_id == "outbox":
            return self.flush_outbox
        if job_id == "reminders":
            return self.send_reminders
        if job_id == "lock":
            return self.keep_lock
        known = ", ".join(job_ids(self.programmes))
        raise ConfigError(f"no job {job_id!r}; the jobs are: {known}")

    def ingest_site(self, slug: str) -> str:
        """Ingest the site's complete new files in date order, then monitor and send its alerts."""
        programme = self.programmes.sites[slug]
        with self._site_guards[slug]:
            now = self.clock()
            candidates = dropfolder.list_candidates(programme)
            site_id = self._site_id(slug)
            dropfolder.observe(self.store, site_id, candidates, now, programme)
            ready = dropfolder.ready_files(self.store, site_id, candidates, now, programme.settle_seconds)
            added = refused = 0
            for file_id, path in self._in_date_order(ready, programme):
                if self.stop_event.is_set():
                    break
                outcome = self._ingest_file(programme, file_id, path)
                added += outcome == "added"
                refused += outcome == "refused"
            summary = f"{len(candidates)} files offered, {added} surveys added, {refused} refused"
            if self.workspace.site(slug).pending and not self.stop_event.is_set():
                summary += "; " + self._monitor(slug)
        return summary

    def check_overdue(self, slug: str) -> str:
        """Raise "no data" when the site's latest survey is older than expected (pending surveys processed first)."""
        with self._site_guards[slug]:
            return self._monitor(slug)

    def flush_outbox(self) -> str:
        """Send the due deliveries, with retry and back-off."""
        return str(self.workspace.flush_outbox(reminders=False, now=self.clock()))

    def send_reminders(self) -> str:
        """Queue the due reminders of unacknowledged orange/red alerts, and send them."""
        queued = self.workspace.queue_reminders(now=self.clock())
        if not queued:
            return "no reminder due"
        return f"{len(queued)} reminders queued; " + self.flush_outbox()

    def keep_lock(self) -> str:
        """Renew the service lock; stop the service when another one took it over."""
        if lock.renew(self.store, self.owner, now=self.clock()):
            return "lock renewed"
        log_event(log, "service lock lost to another service; stopping", level=logging.ERROR, owner=self.owner)
        self.stop_event.set()
        return "lock lost"

    # --- parts

    def _site_id(self, slug: str) -> int:
        with self.store.transaction() as session:
            return get_site(session, slug).id

    def _in_date_order(self, ready: list[int], programme: SiteProgramme) -> list[tuple[int, Path]]:
        """The ready files, oldest acquisition first (files whose date cannot be read last: they are refused)."""
        from geowarn.store.schema import IngestedFile

        keyed = []
        with self.store.transaction() as session:
            paths = {i: Path(session.get_one(IngestedFile, i).path) for i in ready}
        for file_id in ready:
            path = paths[file_id]
            try:
                when: date = acquisition_date(path, self._date_name(path, programme), programme.date_pattern)
            except Exception:
                when = date.max
            keyed.append((when, file_id, path))
        return [(file_id, path) for _, file_id, path in sorted(keyed)]

    @staticmethod
    def _date_name(path: Path, programme: SiteProgramme) -> str:
        """The name a date pattern reads: the file's, or the ODM project folder's."""
        return path.parents[1].name if programme.layout == "odm" else path.name

    def _ingest_file(self, programme: SiteProgramme, file_id: int, path: Path) -> str:
        """Add one claimed file as a survey: ``added``, ``refused``, ``requeued`` or ``skipped``."""
        row = dropfolder.claim(self.store, file_id, self.owner, self.clock())
        if row is None:
            return "skipped"
        slug = programme.site
        try:
            stat = path.stat()
            if (stat.st_size, stat.st_mtime_ns) != (row.size, row.mtime_ns):
                dropfolder.finish(self.store, file_id, self.owner, now=self.clock(), requeue=True)
                return "requeued"
            acquired = acquisition_date(path, self._date_name(path, programme), programme.date_pattern)
            log_event(log, "ingesting", site=slug, file=str(path), date=acquired, bytes=row.size)
            with self._progress(slug, path, file_id):
                added = self.workspace.add_survey(slug, path, acquired, max_pixels=programme.max_pixels)
        except (GeowarnError, OSError) as exc:
            why = reason(exc)
            dropfolder.finish(
                self.store, file_id, self.owner, now=self.clock(), error=why, fingerprint=programme.fingerprint()
            )
            log_event(log, "file refused", level=logging.ERROR, site=slug, file=str(path), error=why)
            return "refused"
        dropfolder.finish(
            self.store, file_id, self.owner, now=self.clock(), survey_id=added.survey_id, acquired_on=acquired
        )
        log_event(log, "survey added", site=slug, file=str(path), survey=added.survey_id, detail=added.message)
        return "added"

    @contextmanager
    def _progress(self, slug: str, path: Path, file_id: int) -> Iterator[None]:
        """Log progress of a long ingest every :data:`PROGRESS_SECONDS` and keep the file's claim alive."""
        done = threading.Event()
        started = time.monotonic()

        def report() -> None:
            while not done.wait(PROGRESS_SECONDS):
                dropfolder.renew(self.store, file_id, self.owner, self.clock())
                log_event(log, "still ingesting", site=slug, file=str(path), seconds=round(time.monotonic() - started))

        thread = threading.Thread(target=report, name=f"progress-{slug}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _monitor(self, slug: str) -> str:
        """Monitor the site (its pending surveys, then the overdue check), then send what is due."""
        programme = self.programmes.sites[slug]
        report = self.workspace.monitor(
            slug,
            detect=programme.detect,
            today=self.clock().date(),
            deliver=False,
            cascade=self._cascade(programme),
            overdue_days=programme.expected_every_days,
        )
        line = f"{len(report.surveys)} surveys processed, {len(report.alerts)} alerts"
        if report.failed_sites:
            line += f", site not monitored: {report.failed_sites[0].reason}"
        if report.alerts:
            line += "; " + self.flush_outbox()
        return line

    def _cascade(self, programme: SiteProgramme) -> Cascade | None:
        """The models for the site's detect settings, loaded once per distinct settings.

        None when they do not load: monitoring then records why on the site (``geowarn site show``).
        """
        from geowarn.pipeline.detect_config import MONITOR_DETECT_DEFAULTS, load_detect_config

        detect = programme.detect
        if isinstance(detect, Path):
            config = load_detect_config(detect, None, MONITOR_DETECT_DEFAULTS)
        else:
            config = load_detect_config(None, detect, MONITOR_DETECT_DEFAULTS, overrides_from="detect settings")
        key = json.dumps(config.to_json_dict(), sort_keys=True, default=str)
        with self._cascade_guard:
            if key not in self._cascades:
                try:
                    self._cascades[key] = self._cascade_factory(config)
                except GeowarnError as exc:
                    log_event(log, "models not loaded", level=logging.ERROR, site=programme.site, error=reason(exc))
                    return None
            return self._cascades[key]


def _load_cascade(config: DetectConfig) -> Cascade:
    from geowarn.pipeline.rows import load_cascade

    return load_cascade(config)


def job_ids(programmes: Programmes) -> list[str]:
    """Every job of the programmes, in the order ``--once`` runs them."""
    sites = sorted(programmes.sites)
    return [f"ingest:{s}" for s in sites] + [f"overdue:{s}" for s in sites] + ["reminders", "outbox"]
