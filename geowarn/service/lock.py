"""The single-service lock: one scheduler per database, so two services never ingest the same survey.

A row of ``service_locks`` names its holder (``geowarn.store.lease`` owner id) and an expiry the
holder renews while it runs. Another process takes it over only once it expired, or at once when its
holder ran on this machine and is gone (killed). Taking and renewing are conditional UPDATEs, atomic
on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from geowarn.errors import ConfigError
from geowarn.store.db import Store
from geowarn.store.lease import owner_alive
from geowarn.store.schema import ServiceLock

#: The lock of the ingestion service.
SERVICE_LOCK = "service"
#: How long a lock lasts without renewal.
LOCK_SECONDS = 60.0


class LockHeldError(ConfigError):
    """Another live process holds the lock."""


@dataclass(frozen=True)
class LockState:
    """Who holds a lock and until when."""

    holder: str
    acquired_at: datetime
    expires_at: datetime


def lock_state(store: Store, name: str = SERVICE_LOCK) -> LockState | None:
    """The lock's holder, or None when nobody ever took it."""
    with store.transaction() as session:
        row = session.get(ServiceLock, name)
        return None if row is None else LockState(row.holder, row.acquired_at, row.expires_at)


def holder_running(state: LockState | None, now: datetime) -> bool:
    """Whether the lock is held by a process that may still run."""
    return state is not None and state.expires_at > now and owner_alive(state.holder) is not False


def acquire(store: Store, owner: str, *, name: str = SERVICE_LOCK, now: datetime | None = None) -> None:
    """Take the lock for ``owner``.

    Raises:
        LockHeldError: another process holds it (its holder and expiry named).

    """
    now = now or datetime.now(UTC)
    expires = now + timedelta(seconds=LOCK_SECONDS)
    try:
        with store.transaction() as session:
            row = session.get(ServiceLock, name)
            if row is None:
                session.add(ServiceLock(name=name, holder=owner, acquired_at=now, expires_at=expires))
                return
            if row.holder != owner and holder_running(LockState(row.holder, row.acquired_at, row.expires_at), now):
                raise LockHeldError(
                    f"another geowarn service ({row.holder}) holds this database's service lock until "
                    f"{row.expires_at:%Y-%m-%d %H:%M:%S} UTC; stop it first (one service per database), "
                    "or wait for its lock to expire if it was killed on another machine"
                )
            taken = session.execute(
                update(ServiceLock)
                .where(ServiceLock.name == name, ServiceLock.holder == row.holder)
                .values(holder=owner, acquired_at=now, expires_at=expires)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                raise LockHeldError("another geowarn service took the service lock at this moment; stop it first")
    except IntegrityError:
        raise LockHeldError("another geowarn service took the service lock at this moment; stop it first") from None


def renew(store: Store, owner: str, *, name: str = SERVICE_LOCK, now: datetime | None = None) -> bool:
    """Extend the lock; False when ``owner`` no longer holds it (taken over after it expired)."""
    now = now or datetime.now(UTC)
    with store.transaction() as session:
        done = session.execute(
            update(ServiceLock)
            .where(ServiceLock.name == name, ServiceLock.holder == owner)
            .values(expires_at=now + timedelta(seconds=LOCK_SECONDS))
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def release(store: Store, owner: str, *, name: str = SERVICE_LOCK) -> None:
    """Give the lock up (only when ``owner`` holds it)."""
    with store.transaction() as session:
        session.execute(delete(ServiceLock).where(ServiceLock.name == name, ServiceLock.holder == owner))


def holder(store: Store, name: str = SERVICE_LOCK) -> str | None:
    """The holder's owner id, or None."""
    with store.transaction() as session:
        return session.scalar(select(ServiceLock.holder).where(ServiceLock.name == name))
