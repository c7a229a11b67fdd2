"""Reminders of orange and red alerts that nobody has acknowledged yet.

Such an alert is sent again every ``rules.ack_reminders.<level>`` hours, at most
``max_reminders`` times, to the recipients of its level on every channel except CAP feeds (a
public feed carries an alert once). A reminder is an outbox row like the alert's own, with its own
idempotency key, so queueing it twice (two flushers, a restart) stores and sends it once. Only the
latest due reminder is queued: after an outage people get one reminder, not the backlog. The
outbox drops a queued reminder once the alert is acknowledged or superseded by a newer alert.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geowarn.alerts.payload import AlertPayload
from geowarn.alerts.settings import SiteAlerting
from geowarn.errors import ConfigError
from geowarn.logs import log_event
from geowarn.store.db import Store
from geowarn.store.schema import Alert, Delivery, Site

log = logging.getLogger(__name__)


def due_reminder(created_at: datetime, now: datetime, interval_h: float, max_reminders: int) -> int:
    """Number of the latest reminder due at ``now`` (0: none yet)."""
    hours = (now - created_at).total_seconds() / 3600.0
    return max(0, min(max_reminders, math.floor(hours / interval_h)))


def latest_alert_ids(session: Session) -> list[int]:
    """The newest alert of each site: the only ones reminders are about."""
    return list(session.scalars(select(func.max(Alert.id)).group_by(Alert.site_id)))


def _queue(session: Session, alert: Alert, config: SiteAlerting, number: int, now: datetime) -> list[int]:
    payload = AlertPayload.model_validate(alert.payload).as_reminder(number)
    rows = []
    for recipient in config.recipients:
        if alert.level not in recipient.levels or config.channels[recipient.channel].get("type") == "cap":
            continue
        key = payload.idempotency_key(recipient.channel, recipient.address)
        if session.scalar(select(Delivery.id).where(Delivery.idempotency_key == key)) is None:
            row = Delivery(
                alert_id=alert.id,
                channel=recipient.channel,
                recipient=recipient.address,
                idempotency_key=key,
                reminder=number,
                next_attempt_at=now,
            )
            session.add(row)
            rows.append(row)
    session.flush()
    return [row.id for row in rows]


def queue_reminders(store: Store, now: datetime, config_for: Callable[[Site], SiteAlerting]) -> list[int]:
    """Queue the reminders due at ``now`` (``config_for``: each site's configuration); returns the new delivery ids."""
    queued: list[int] = []
    with store.transaction() as session:
        waiting = session.scalars(
            select(Alert)
            .where(Alert.id.in_(latest_alert_ids(session)), Alert.requires_ack.is_(True), Alert.acked_at.is_(None))
            .order_by(Alert.id)
        ).all()
        for alert in waiting:
            site = session.get_one(Site, alert.site_id)
            try:
                config = config_for(site)
            except ConfigError as exc:  # the flush reports the broken config for the alert's own rows
                log_event(log, "reminders skipped", level=logging.WARNING, site=site.slug, error=str(exc))
                continue
            reminders = config.alerting.ack_reminders
            interval = reminders.interval_h(alert.level)
            if interval is None:
                continue
            number = due_reminder(alert.created_at, now, interval, reminders.max_reminders)
            if number < 1:
                continue
            try:
                with session.begin_nested():
                    ids = _queue(session, alert, config, number, now)
            except IntegrityError:  # queued meanwhile by another process: its rows stand
                continue
            if ids:
                queued += ids
                log_event(log, "reminder queued", site=site.slug, alert=alert.id, reminder=number, deliveries=len(ids))
    return queued
