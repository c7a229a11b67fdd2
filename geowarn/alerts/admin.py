"""Listing and acknowledging alerts, and listing the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from geowarn import inputs
from geowarn.errors import ConfigError
from geowarn.store.db import Store
from geowarn.store.queries import get_site
from geowarn.store.schema import Alert, Delivery, Site, utcnow


@dataclass(frozen=True)
class AlertInfo:
    """An alert with its acknowledgement and its deliveries counted by status (times: ISO, UTC)."""

    id: int
    site: str
    created: str
    level: str
    previous_level: str
    survey_date: str | None
    requires_ack: bool
    acked_at: str | None
    acked_by: str | None
    reasons: list[str]
    deliveries: dict[str, int]


@dataclass(frozen=True)
class AlertDetail:
    """One alert in full: its payload (``AlertPayload`` as JSON), evidence map and acknowledgement note."""

    info: AlertInfo
    payload: dict[str, Any]
    evidence_path: str | None
    ack_note: str | None


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged an alert and when; ``already`` when it had been acknowledged before (that one stands)."""

    alert_id: int
    level: str
    acked_by: str
    acked_at: datetime
    already: bool

    @property
    def message(self) -> str:
        if self.already:
            return (
                f"alert {self.alert_id} was already acknowledged by {self.acked_by} "
                f"at {self.acked_at:%Y-%m-%d %H:%M} UTC"
            )
        return f"alert {self.alert_id} ({self.level.upper()}) acknowledged by {self.acked_by}"


@dataclass(frozen=True)
class DeliveryInfo:
    """One outbox row: an alert (or a reminder of it) to one recipient on one channel."""

    id: int
    alert: int
    channel: str
    recipient: str
    reminder: int
    status: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    sent_at: str | None


def list_alerts(store: Store, site_slug: str | None = None, *, unacked: bool = False) -> list[AlertInfo]:
    """Alerts newest first, with their delivery states; ``unacked``: only those awaiting acknowledgement.

    Raises:
        ConfigError: ``site_slug`` names no site.

    """
    rows = []
    with store.transaction() as session:
        query = select(Alert, Site.slug).join(Site, Site.id == Alert.site_id).order_by(Alert.id.desc())
        if site_slug:
            query = query.where(Alert.site_id == get_site(session, site_slug).id)
        if unacked:
            query = query.where(Alert.requires_ack.is_(True), Alert.acked_at.is_(None))
        for alert, slug in session.execute(query):
            rows.append(_info(session, alert, slug))
    return rows


def _info(session: Session, alert: Alert, slug: str) -> AlertInfo:
    deliveries = session.scalars(select(Delivery).where(Delivery.alert_id == alert.id)).all()
    return AlertInfo(
        id=alert.id,
        site=slug,
        created=alert.created_at.isoformat(timespec="seconds"),
        level=alert.level,
        previous_level=alert.previous_level,
        survey_date=alert.payload.get("survey_date"),
        requires_ack=alert.requires_ack,
        acked_at=alert.acked_at.isoformat(timespec="seconds") if alert.acked_at else None,
        acked_by=alert.acked_by,
        reasons=alert.payload.get("reasons", []),
        deliveries={d.status: sum(x.status == d.status for x in deliveries) for d in deliveries},
    )


def get_alert(store: Store, alert_id: int) -> AlertDetail:
    """One alert in full.

    Raises:
        ConfigError: no such alert.

    """
    alert_id = inputs.entered("alert id", alert_id, inputs.row_id)
    with store.transaction() as session:
        row = session.execute(select(Alert, Site.slug).join(Site, Site.id == Alert.site_id).where(Alert.id == alert_id))
        found = row.first()
        if found is None:
            raise ConfigError(f"alert {alert_id} does not exist; list them with: geowarn alerts list")
        alert, slug = found
        return AlertDetail(_info(session, alert, slug), dict(alert.payload), alert.evidence_path, alert.ack_note)


def ack_alert(store: Store, alert_id: int, by: str, note: str | None = None) -> Acknowledgement:
    """Acknowledge an alert; acknowledging twice keeps the first acknowledgement.

    Raises:
        ConfigError: no such alert, an id out of range, or an empty, multi-line or too long name.

    """
    if not by.strip():
        raise ConfigError("--by must name who acknowledges the alert (e.g. --by 'J. Doe, on call')")
    alert_id = inputs.entered("alert id", alert_id, inputs.row_id)
    by = inputs.entered("--by", by, inputs.one_line)
    note = inputs.entered("--note", note, inputs.note) if note is not None else None
    with store.transaction() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise ConfigError(f"alert {alert_id} does not exist; list them with: geowarn alerts list")
        already = alert.acked_at is not None
        if not already:
            alert.acked_at, alert.acked_by, alert.ack_note = utcnow(), by, note
        assert alert.acked_at is not None and alert.acked_by is not None
        return Acknowledgement(alert_id, alert.level, alert.acked_by, alert.acked_at, already)


def list_deliveries(store: Store, status: str | None = None) -> list[DeliveryInfo]:
    """Outbox rows, oldest first; ``status``: only pending, sent, failed or cancelled ones."""
    with store.transaction() as session:
        query = select(Delivery).order_by(Delivery.id)
        if status:
            query = query.where(Delivery.status == status)
        return [
            DeliveryInfo(
                id=d.id,
                alert=d.alert_id,
                channel=d.channel,
                recipient=d.recipient,
                reminder=d.reminder,
                status=d.status,
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at.isoformat(timespec="seconds"),
                last_error=d.last_error,
                sent_at=d.sent_at.isoformat(timespec="seconds") if d.sent_at else None,
            )
            for d in session.scalars(query)
        ]
