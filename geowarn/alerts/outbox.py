"""Transactional outbox: deliver stored alerts, retrying with backoff, once per recipient and channel.

Alerts and their delivery rows are committed together with the survey that caused them; this
module sends what is due. Every flush, whatever its mode (``--all`` included), claims a row by one
atomic conditional UPDATE that takes a lease on it (``claimed_by`` = this process, ``claimed_until``):
a row leased by another process is never sent. The lease is apart from the backoff
(``next_attempt_at``), which ``force`` may skip. A flusher killed mid-send leaves its lease behind;
the next flush on the same machine sees that its holder is gone and takes the row over at once
(``geowarn.store.lease``); elsewhere the lease expires. Every send carries the row's idempotency
key (HTTP ``Idempotency-Key`` header, email ``Message-ID``, file name and contents for the file and
CAP channels), so the rare resend after a crash between "sent" and "recorded" is recognised
downstream; the file channel skips it by itself. Reminders (``Delivery.reminder`` > 0, queued by
``geowarn.alerts.reminders``) are dropped instead of sent once their alert has been acknowledged
or superseded by a newer one. A row whose sending fails in any way (a channel's bug included) is
recorded as a failed attempt and the flush goes on with the next row; errors are stored and
logged with their secrets masked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from geowarn.alerts.channels import Channel, DeliveryError, build_channel
from geowarn.alerts.payload import EVIDENCE_MAP_ATTACHMENT, AlertPayload
from geowarn.alerts.settings import SiteAlerting
from geowarn.errors import ConfigError
from geowarn.faults import failpoint
from geowarn.logs import log_event
from geowarn.redact import redact
from geowarn.store.db import Store
from geowarn.store.lease import owner_alive, this_process
from geowarn.store.schema import Alert, Delivery, Site

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base * 2**(attempt-1)`` seconds, capped; give up after ``max_attempts``."""

    base_s: float = 30.0
    cap_s: float = 3600.0
    max_attempts: int = 48
    lease_s: float = 600.0

    def delay(self, attempts: int, retry_after_s: float | None = None) -> timedelta:
        seconds = min(self.cap_s, self.base_s * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=max(seconds, retry_after_s or 0.0))


@dataclass
class FlushReport:
    """What one flush did."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        line = f"outbox: {len(self.sent)} sent, {len(self.retrying)} to retry, {len(self.failed)} failed for good"
        return line + (f", {len(self.cancelled)} reminders dropped" if self.cancelled else "")

    @property
    def ok(self) -> bool:
        """True when every delivery tried went out (or nothing was due)."""
        return not self.failed and not self.retrying


#: Builds the channel objects of a site (name -> channel); replaced in tests.
ChannelResolver = Callable[[Site], dict[str, Channel]]


def _claim(store: Store, delivery_id: int, now: datetime, policy: RetryPolicy, force: bool, owner: str) -> bool:
    """Lease the row to ``owner`` when it is pending, not leased by anyone, and due (or ``force``)."""
    with store.transaction() as session:
        free = or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now)
        due = (Delivery.status == "pending") & free
        if not force:
            due = due & (Delivery.next_attempt_at <= now)
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, due)
            .values(
                attempts=Delivery.attempts + 1,
                claimed_by=owner,
                claimed_until=now + timedelta(seconds=policy.lease_s),
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def release_dead_claims(store: Store, now: datetime) -> list[int]:
    """End the leases held by processes of this machine that are gone; returns the rows released."""
    released: list[int] = []
    with store.transaction() as session:
        owners = session.scalars(
            select(Delivery.claimed_by)
            .where(Delivery.status == "pending", Delivery.claimed_by.is_not(None), Delivery.claimed_until > now)
            .distinct()
        ).all()
        for owner in owners:
            if owner is None or owner_alive(owner) is not False:
                continue
            ids = list(
                session.scalars(select(Delivery.id).where(Delivery.claimed_by == owner, Delivery.status == "pending"))
            )
            session.execute(
                update(Delivery)
                .where(Delivery.claimed_by == owner, Delivery.status == "pending")
                .values(claimed_by=None, claimed_until=None)
            )
            released += ids
            log_event(
                log,
                "took over deliveries of a process that is gone",
                level=logging.WARNING,
                owner=owner,
                deliveries=",".join(map(str, ids)),
            )
    return released


def _stale_reminder(session: Session, delivery: Delivery, alert: Alert) -> str | None:
    """Why a reminder no longer needs sending (acknowledged, superseded), or None."""
    if not delivery.reminder:
        return None
    if alert.acked_at is not None:
        return f"alert acknowledged by {alert.acked_by}"
    newer = session.scalar(select(Alert.id).where(Alert.site_id == alert.site_id, Alert.id > alert.id).limit(1))
    return None if newer is None else f"superseded by alert {newer}"


def _attachments(alert: Alert) -> dict[str, bytes]:
    if alert.evidence_path and Path(alert.evidence_path).is_file():
        return {EVIDENCE_MAP_ATTACHMENT: Path(alert.evidence_path).read_bytes()}
    return {}


@dataclass
class _Job:
    """One claimed row, read in its own transaction, ready to send."""

    delivery_id: int
    site_slug: str
    channel: str
    recipient: str
    key: str
    payload: AlertPayload
    attachments: dict[str, bytes]
    channels: dict[str, Channel] | ConfigError


def flush_outbox(
    store: Store,
    channels_for: ChannelResolver,
    *,
    now: datetime | None = None,
    policy: RetryPolicy | None = None,
    force: bool = False,
    site_id: int | None = None,
) -> FlushReport:
    """Send every due delivery (with ``force`` also those waiting out their backoff); return what happened.

    A transient failure (server down, timeout, HTTP 5xx/429) schedules a retry with backoff; a
    permanent one (rejected address, HTTP 4xx) or running out of attempts marks the row failed and
    logs an error. A channel whose settings are broken (e.g. a secret's variable unset) is retried
    like a transient failure, so fixing the settings is enough; so is an unexpected error, logged as
    an error with its type. ``force`` never touches a row another process has leased.
    """
    policy = policy or RetryPolicy()
    report = FlushReport()
    resolved: dict[int, dict[str, Channel] | ConfigError] = {}
    owner = str(this_process())
    release_dead_claims(store, now or datetime.now(UTC))
    with store.transaction() as session:
        query = select(Delivery.id).where(Delivery.status == "pending").order_by(Delivery.id)
        if site_id is not None:
            query = query.join(Alert, Alert.id == Delivery.alert_id).where(Alert.site_id == site_id)
        ids = list(session.scalars(query))
    for delivery_id in ids:
        at = now or datetime.now(UTC)
        if not _claim(store, delivery_id, at, policy, force, owner):
            continue
        failpoint("outbox.after-claim")
        try:
            job = _read_job(store, delivery_id, channels_for, resolved, report)
            if job is None:
                continue
            outcome = _send(job)
        except Exception as exc:  # a broken row never stops the others
            log.exception("delivery %s could not be prepared", delivery_id)
            outcome = (f"unexpected {type(exc).__name__}: {exc}", True, None, None)
        _record(store, delivery_id, outcome, now, policy, report)
    return report


def _read_job(
    store: Store,
    delivery_id: int,
    channels_for: ChannelResolver,
    resolved: dict[int, dict[str, Channel] | ConfigError],
    report: FlushReport,
) -> _Job | None:
    """The claimed row with its payload and channels; None when it is a reminder no longer needed (dropped)."""
    with store.transaction() as session:
        delivery = session.get_one(Delivery, delivery_id)
        alert = session.get_one(Alert, delivery.alert_id)
        if (stale := _stale_reminder(session, delivery, alert)) is not None:
            delivery.status, delivery.last_error = "cancelled", stale
            delivery.claimed_by = delivery.claimed_until = None
            report.cancelled.append(delivery_id)
            log_event(log, "reminder dropped", delivery=delivery_id, alert=alert.id, reason=stale)
            return None
        site = session.get_one(Site, alert.site_id)
        if site.id not in resolved:
            try:
                resolved[site.id] = channels_for(site)
            except ConfigError as exc:
                resolved[site.id] = exc
        payload = AlertPayload.model_validate(alert.payload)
        if delivery.reminder:
            payload = payload.as_reminder(delivery.reminder)
        return _Job(
            delivery_id,
            site.slug,
            delivery.channel,
            delivery.recipient,
            delivery.idempotency_key,
            payload,
            _attachments(alert),
            resolved[site.id],
        )


#: What a send came to: (error or None, transient, retry after seconds, provider reference).
_Outcome = tuple[str | None, bool, float | None, str | None]


def _send(job: _Job) -> _Outcome:
    channels = job.channels
    try:
        if isinstance(channels, ConfigError):
            raise channels
        if job.channel not in channels:
            raise ConfigError(f"channel {job.channel!r} is no longer configured for site {job.site_slug}")
        ref = channels[job.channel].send(job.payload, job.recipient, job.key, job.attachments)
        failpoint("outbox.after-send")
    except DeliveryError as exc:
        return str(exc), exc.transient, exc.retry_after_s, None
    except ConfigError as exc:
        return str(exc), True, None, None
    except Exception as exc:  # a channel's bug: recorded and retried, never the end of the flush
        log.exception("channel %r failed unexpectedly", job.channel)
        return f"channel {job.channel!r}: unexpected {type(exc).__name__}: {exc}; will retry", True, None, None
    return None, True, None, ref


def _record(
    store: Store, delivery_id: int, outcome: _Outcome, now: datetime | None, policy: RetryPolicy, report: FlushReport
) -> None:
    """Store the outcome of one attempt and end the lease."""
    error, transient, retry_after, ref = outcome
    error = redact(error) if error is not None else None
    with store.transaction() as session:
        delivery = session.get_one(Delivery, delivery_id)
        if delivery.status != "pending":
            return  # dropped meanwhile
        delivery.claimed_by = delivery.claimed_until = None
        fields: dict[str, Any] = {
            "delivery": delivery_id,
            "alert": delivery.alert_id,
            "channel": delivery.channel,
            "attempt": delivery.attempts,
        }
        if error is None:
            delivery.status, delivery.sent_at, delivery.provider_ref = "sent", datetime.now(UTC), ref
            delivery.last_error = None
            report.sent.append(delivery_id)
            log_event(log, "delivered", ref=ref, **fields)
        elif transient and delivery.attempts < policy.max_attempts:
            delivery.last_error = error
            delivery.next_attempt_at = (now or datetime.now(UTC)) + policy.delay(delivery.attempts, retry_after)
            report.retrying.append(delivery_id)
            log_event(log, "delivery failed; will retry", level=logging.WARNING, error=error, **fields)
        else:
            delivery.status, delivery.last_error = "failed", error
            report.failed.append(delivery_id)
            log_event(log, "delivery failed for good", level=logging.ERROR, error=error, **fields)
    failpoint("outbox.after-record")


def site_channels(
    base_dir_for: Callable[[Site], Path | None], config_for: Callable[[Site], SiteAlerting]
) -> ChannelResolver:
    """Resolver building each site's channels from its config (``config_for(site).channels``)."""

    def resolve(site: Site) -> dict[str, Channel]:
        config = config_for(site)
        return {name: build_channel(name, conf, base_dir=base_dir_for(site)) for name, conf in config.channels.items()}

    return resolve
