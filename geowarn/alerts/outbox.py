"""Transactional outbox: deliver stored alerts, retrying with backoff, once per recipient and channel.

Alerts and their delivery rows are committed together with the survey that caused them; this
module sends what is due. A row is claimed by an atomic conditional UPDATE that also pushes its
next attempt past a lease, so two flushers never send the same row at once, and a flusher killed
mid-send leaves the row to be retried after the lease. Every send carries the row's idempotency key
(HTTP ``Idempotency-Key`` header, email ``Message-ID``, file name and contents for the file and CAP
channels), so the rare resend after a crash between "sent" and "recorded" is recognised downstream;
the file channel skips it by itself. Reminders (``Delivery.reminder`` > 0, queued by
``geowarn.alerts.reminders``) are dropped instead of sent once their alert has been acknowledged
or superseded by a newer one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from geowarn.alerts.channels import Channel, DeliveryError, build_channel
from geowarn.alerts.payload import EVIDENCE_MAP_ATTACHMENT, AlertPayload
from geowarn.alerts.settings import SiteAlerting
from geowarn.errors import ConfigError
from geowarn.faults import failpoint
from geowarn.logs import log_event
from geowarn.store.db import Store
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


#: Builds the channel objects of a site (name -> channel); replaced in tests.
ChannelResolver = Callable[[Site], dict[str, Channel]]


def _claim(store: Store, delivery_id: int, now: datetime, policy: RetryPolicy, force: bool) -> bool:
    with store.transaction() as session:
        due = Delivery.status == "pending"
        if not force:
            due = due & (Delivery.next_attempt_at <= now)
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, due)
            .values(attempts=Delivery.attempts + 1, next_attempt_at=now + timedelta(seconds=policy.lease_s))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


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


def flush_outbox(
    store: Store,
    channels_for: ChannelResolver,
    *,
    now: datetime | None = None,
    policy: RetryPolicy | None = None,
    force: bool = False,
    site_id: int | None = None,
) -> FlushReport:
    """Send every due delivery (all pending ones with ``force``); return what happened.

    A transient failure (server down, timeout, HTTP 5xx/429) schedules a retry with backoff; a
    permanent one (rejected address, HTTP 4xx) or running out of attempts marks the row failed and
    logs an error. A channel whose settings are broken (e.g. a secret's variable unset) is retried
    like a transient failure, so fixing the settings is enough.
    """
    policy = policy or RetryPolicy()
    report = FlushReport()
    resolved: dict[int, dict[str, Channel] | ConfigError] = {}
    with store.transaction() as session:
        query = select(Delivery.id).where(Delivery.status == "pending").order_by(Delivery.id)
        if site_id is not None:
            query = query.join(Alert, Alert.id == Delivery.alert_id).where(Alert.site_id == site_id)
        ids = list(session.scalars(query))
    for delivery_id in ids:
        at = now or datetime.now(UTC)
        if not _claim(store, delivery_id, at, policy, force):
            continue
        with store.transaction() as session:
            delivery = session.get_one(Delivery, delivery_id)
            alert = session.get_one(Alert, delivery.alert_id)
            if (stale := _stale_reminder(session, delivery, alert)) is not None:
                delivery.status, delivery.last_error = "cancelled", stale
                report.cancelled.append(delivery_id)
                log_event(log, "reminder dropped", delivery=delivery_id, alert=alert.id, reason=stale)
                continue
            site = session.get_one(Site, alert.site_id)
            if site.id not in resolved:
                try:
                    resolved[site.id] = channels_for(site)
                except ConfigError as exc:
                    resolved[site.id] = exc
            payload = AlertPayload.model_validate(alert.payload)
            if delivery.reminder:
                payload = payload.as_reminder(delivery.reminder)
            attachments = _attachments(alert)
            channel_name, recipient, key, attempts = (
                delivery.channel,
                delivery.recipient,
                delivery.idempotency_key,
                delivery.attempts,
            )
        channels = resolved[site.id]
        error: str | None = None
        transient, retry_after = True, None
        ref = None
        try:
            if isinstance(channels, ConfigError):
                raise channels
            if channel_name not in channels:
                raise ConfigError(f"channel {channel_name!r} is no longer configured for site {site.slug}")
            ref = channels[channel_name].send(payload, recipient, key, attachments)
            failpoint("outbox.after-send")
        except DeliveryError as exc:
            error, transient, retry_after = str(exc), exc.transient, exc.retry_after_s
        except ConfigError as exc:
            error = str(exc)
        fields: dict[str, Any] = {
            "delivery": delivery_id,
            "alert": alert.id,
            "channel": channel_name,
            "attempt": attempts,
        }
        with store.transaction() as session:
            delivery = session.get_one(Delivery, delivery_id)
            if error is None:
                delivery.status, delivery.sent_at, delivery.provider_ref = "sent", datetime.now(UTC), ref
                delivery.last_error = None
                report.sent.append(delivery_id)
                log_event(log, "delivered", ref=ref, **fields)
            elif transient and attempts < policy.max_attempts:
                delivery.last_error = error
                delivery.next_attempt_at = (now or datetime.now(UTC)) + policy.delay(attempts, retry_after)
                report.retrying.append(delivery_id)
                log_event(log, "delivery failed; will retry", level=logging.WARNING, error=error, **fields)
            else:
                delivery.status, delivery.last_error = "failed", error
                report.failed.append(delivery_id)
                log_event(log, "delivery failed for good", level=logging.ERROR, error=error, **fields)
    return report


def site_channels(
    base_dir_for: Callable[[Site], Path | None], config_for: Callable[[Site], SiteAlerting]
) -> ChannelResolver:
    """Resolver building each site's channels from its config (``config_for(site).channels``)."""

    def resolve(site: Site) -> dict[str, Channel]:
        config = config_for(site)
        return {name: build_channel(name, conf, base_dir=base_dir_for(site)) for name, conf in config.channels.items()}

    return resolve
