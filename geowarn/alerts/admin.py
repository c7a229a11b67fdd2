"""Listing and acknowledging alerts, and listing the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from geowarn.errors import ConfigError
from geowarn.store.db import Store
from geowarn.store.queries import get_site
from geowarn.store.schema import Alert, Delivery, Site, utcnow


def list_alerts(store: Store, site_slug: str | None = None, *, unacked: bool = False) -> list[dict[str, Any]]:
    """Alerts newest first, with their delivery states."""
    rows = []
    with store.transaction() as session:
        query = select(Alert, Site.slug).join(Site, Site.id == Alert.site_id).order_by(Alert.id.desc())
        if site_slug:
            query = query.where(Alert.site_id == get_site(session, site_slug).id)
        if unacked:
            query = query.where(Alert.requires_ack.is_(True), Alert.acked_at.is_(None))
        for alert, slug in session.execute(query):
            deliveries = session.scalars(select(Delivery).where(Delivery.alert_id == alert.id)).all()
            rows.append(
                {
                    "id": alert.id,
                    "site": slug,
                    "created": alert.created_at.isoformat(timespec="seconds"),
                    "level": alert.level,
                    "previous_level": alert.previous_level,
                    "survey_date": alert.payload.get("survey_date"),
                    "requires_ack": alert.requires_ack,
                    "acked_at": alert.acked_at.isoformat(timespec="seconds") if alert.acked_at else None,
                    "acked_by": alert.acked_by,
                    "reasons": alert.payload.get("reasons", []),
                    "deliveries": {d.status: sum(x.status == d.status for x in deliveries) for d in deliveries},
                }
            )
    return rows


def ack_alert(store: Store, alert_id: int, by: str, note: str | None = None) -> str:
    """Acknowledge an alert; acknowledging twice keeps the first acknowledgement.

    Raises:
        ConfigError: no such alert, or an empty name.

    """
    if not by.strip():
        raise ConfigError("--by must name who acknowledges the alert (e.g. --by 'J. Doe, on call')")
    with store.transaction() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise ConfigError(f"alert {alert_id} does not exist; list them with: geowarn alerts list")
        if alert.acked_at is not None:
            return (
                f"alert {alert_id} was already acknowledged by {alert.acked_by} at {alert.acked_at:%Y-%m-%d %H:%M} UTC"
            )
        alert.acked_at, alert.acked_by, alert.ack_note = utcnow(), by.strip(), note
        return f"alert {alert_id} ({alert.level.upper()}) acknowledged by {alert.acked_by}"


def list_deliveries(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    """Outbox rows, oldest first."""
    with store.transaction() as session:
        query = select(Delivery).order_by(Delivery.id)
        if status:
            query = query.where(Delivery.status == status)
        return [
            {
                "id": d.id,
                "alert": d.alert_id,
                "channel": d.channel,
                "recipient": d.recipient,
                "reminder": d.reminder,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at.isoformat(timespec="seconds"),
                "last_error": d.last_error,
                "sent_at": d.sent_at.isoformat(timespec="seconds") if d.sent_at else None,
            }
            for d in session.scalars(query)
        ]
