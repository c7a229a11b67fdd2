"""A site's drop folder and the ledger of what was found there (``ingested_files``).

A file is read only once it is complete: its size and modification time must not have changed
between scans for the programme's ``settle_seconds``, and it must not have been modified within
that time. Hidden files and the temporary names copy tools use (``*.part``, ``*.tmp``...) are
never offered. Each file is then claimed by one process (a lease, as in the outbox) and becomes a
survey exactly once: ``add_survey`` is a no-op for a file already added, so a crash between adding
the survey and recording it in the ledger is repaired by the next scan. A refused file (no date,
not a usable orthomosaic, a date out of order) is tried again once it changes or its programme does.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from geowarn.errors import ConfigError
from geowarn.logs import log_event
from geowarn.service.programme import ODM_ORTHOPHOTO, SiteProgramme
from geowarn.store.db import Store
from geowarn.store.lease import owner_alive
from geowarn.store.schema import IngestedFile

log = logging.getLogger("geowarn.service")

#: Name endings of files still being written by common copy tools.
TEMPORARY_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart", ".!sync", ".aria2")
#: How long a claim on a file lasts without renewal.
CLAIM_SECONDS = 300.0


@dataclass(frozen=True)
class Candidate:
    """A raster offered by a drop folder: its path, the name its date is read from, its size and mtime."""

    path: Path
    name: str
    size: int
    mtime_ns: int


def _offered(name: str) -> bool:
    return not (name.startswith((".", "~")) or name.lower().endswith(TEMPORARY_SUFFIXES))


def list_candidates(programme: SiteProgramme) -> list[Candidate]:
    """The rasters the drop folder offers now, by name.

    Raises:
        ConfigError: the drop folder does not exist or cannot be read.

    """
    folder = programme.drop_folder
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise ConfigError(
            f"drop folder {folder} of site {programme.site}: {exc.strerror}; create it or fix drop_folder"
        ) from None
    found: list[Candidate] = []
    for entry in entries:
        if not _offered(entry.name):
            continue
        if programme.layout == "odm":
            raster, name = entry / ODM_ORTHOPHOTO, entry.name
            if not entry.is_dir():
                continue
        else:
            raster, name = entry, entry.name
            if not any(fnmatch.fnmatchcase(name, p) for p in programme.patterns):
                continue
        try:
            st = raster.stat()
        except OSError:
            continue  # an ODM project still running, or a file removed meanwhile
        if raster.is_file():
            found.append(Candidate(raster, name, st.st_size, st.st_mtime_ns))
    return found


def observe(store: Store, site_id: int, candidates: list[Candidate], now: datetime, programme: SiteProgramme) -> None:
    """Record what the folder offers: new files, files still changing, refused files changed since."""
    fingerprint = programme.fingerprint()
    try:
        with store.transaction() as session:
            rows = {r.path: r for r in session.scalars(select(IngestedFile).where(IngestedFile.site_id == site_id))}
            for c in candidates:
                row = rows.get(str(c.path))
                if row is None:
                    session.add(
                        IngestedFile(
                            site_id=site_id,
                            path=str(c.path),
                            size=c.size,
                            mtime_ns=c.mtime_ns,
                            first_seen_at=now,
                            unchanged_since=now,
                            status="waiting",
                            attempts=0,
                        )
                    )
                    log_event(log, "file found", site=programme.site, file=str(c.path), bytes=c.size)
                    continue
                changed = (row.size, row.mtime_ns) != (c.size, c.mtime_ns)
                if row.status == "ingested":
                    if changed:
                        row.size, row.mtime_ns = c.size, c.mtime_ns
                        log_event(
                            log,
                            "file changed after it was ingested; not read again (give a new survey a new name)",
                            level=logging.WARNING,
                            site=programme.site,
                            file=str(c.path),
                            survey=row.survey_id,
                        )
                    continue
                if changed:
                    row.size, row.mtime_ns, row.unchanged_since = c.size, c.mtime_ns, now
                    if row.status == "refused":
                        row.status, row.error = "waiting", None
                elif row.status == "refused" and row.programme != fingerprint:
                    row.status, row.error = "waiting", None
    except IntegrityError:  # recorded at this moment by another process: the next scan sees its rows
        return


def is_settled(row: IngestedFile, now: datetime, settle_seconds: float) -> bool:
    """Whether the file has kept its size and mtime, and stayed unmodified, for ``settle_seconds``."""
    settle = timedelta(seconds=settle_seconds)
    modified = datetime.fromtimestamp(row.mtime_ns / 1e9, tz=now.tzinfo)
    return now - row.unchanged_since >= settle and now - modified >= settle


def ready_files(
    store: Store, site_id: int, candidates: list[Candidate], now: datetime, settle_seconds: float
) -> list[int]:
    """Ledger ids of the files offered now that are complete and not yet surveys (or whose claim lapsed)."""
    offered = {str(c.path): c for c in candidates}
    ready: list[int] = []
    with store.transaction() as session:
        rows = session.scalars(
            select(IngestedFile)
            .where(IngestedFile.site_id == site_id, IngestedFile.status.in_(("waiting", "ingesting")))
            .order_by(IngestedFile.id)
        )
        for row in rows:
            c = offered.get(row.path)
            if c is None or (c.size, c.mtime_ns) != (row.size, row.mtime_ns):
                continue
            if row.status == "ingesting" and not _claim_lapsed(row, now):
                continue
            if is_settled(row, now, settle_seconds):
                ready.append(row.id)
    return ready


def _claim_lapsed(row: IngestedFile, now: datetime) -> bool:
    return (
        row.claimed_until is None
        or row.claimed_until <= now
        or (row.claimed_by is not None and owner_alive(row.claimed_by) is False)
    )


def claim(store: Store, file_id: int, owner: str, now: datetime) -> IngestedFile | None:
    """Lease the file to ``owner``; None when another process holds it or it is done."""
    with store.transaction() as session:
        row = session.get(IngestedFile, file_id)
        if row is None or row.status not in ("waiting", "ingesting"):
            return None
        if row.status == "ingesting" and not _claim_lapsed(row, now):
            return None
        held_by = (
            IngestedFile.claimed_by.is_(None) if row.claimed_by is None else IngestedFile.claimed_by == row.claimed_by
        )
        done = session.execute(
            update(IngestedFile)
            .where(IngestedFile.id == file_id, IngestedFile.status == row.status, held_by)
            .values(
                status="ingesting",
                claimed_by=owner,
                claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
                attempts=IngestedFile.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return None
        session.expire(row)
        session.refresh(row)
        session.expunge(row)
        return row


def renew(store: Store, file_id: int, owner: str, now: datetime) -> None:
    """Extend the claim of a file still being ingested."""
    with store.transaction() as session:
        session.execute(
            update(IngestedFile)
            .where(IngestedFile.id == file_id, IngestedFile.claimed_by == owner, IngestedFile.status == "ingesting")
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        )


def finish(
    store: Store,
    file_id: int,
    owner: str,
    *,
    now: datetime,
    survey_id: int | None = None,
    acquired_on: date | None = None,
    error: str | None = None,
    fingerprint: str | None = None,
    requeue: bool = False,
) -> None:
    """End the claim: ``ingested`` (with its survey), ``refused`` (with the error) or, ``requeue``, waiting again."""
    values: dict[str, object] = {"claimed_by": None, "claimed_until": None, "acquired_on": acquired_on}
    if requeue:
        values.update(status="waiting", unchanged_since=now)
    elif error is not None:
        values.update(status="refused", error=error, programme=fingerprint)
    else:
        values.update(status="ingested", survey_id=survey_id, error=None, ingested_at=now)
    with store.transaction() as session:
        session.execute(
            update(IngestedFile)
            .where(IngestedFile.id == file_id, or_(IngestedFile.claimed_by == owner, IngestedFile.claimed_by.is_(None)))
            .values(**values)
        )
