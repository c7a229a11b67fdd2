"""Reminders of unacknowledged orange/red alerts, through the real outbox and file/CAP channels."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from geowarn.alerts.admin import ack_alert
from geowarn.alerts.issue import AlertInput, issue_alert
from geowarn.alerts.reminders import due_reminder, queue_reminders
from geowarn.assess.record import AssessmentInput, record_assessment
from geowarn.pipeline.monitor import flush_site_outbox
from geowarn.store.queries import get_site
from geowarn.store.schema import Alert, Delivery
from geowarn.workspace import WorkspaceDir, open_workspace
from geowarn.workspace.sites import add_site

# Run on SQLite and on PostgreSQL (tests/pg.py).
pytestmark = pytest.mark.usefixtures("db_backend")

SITE_YAML = """
rules:
  ack_reminders: {orange: 24, red: 4, max_reminders: 3}
channels:
  files: {type: file, directory: mail}
  feed: {type: cap, directory: cap, sender: geowarn@example.org}
recipients:
  - {name: on call, channel: files, address: oncall@example.org, levels: [yellow, orange, red]}
  - {name: public feed, channel: feed, address: feed, levels: [orange, red]}
"""


@pytest.fixture
def ws(tmp_path: Path) -> WorkspaceDir:
    workspace = open_workspace(tmp_path / "home")
    config = tmp_path / "site.yaml"
    config.write_text(SITE_YAML)
    add_site(workspace, "slope-r", config=config)
    return workspace


def raise_level(ws: WorkspaceDir, level: str) -> tuple[int, datetime]:
    """Store an assessment at ``level`` (an alert when the level changes); returns (alert id, created)."""
    with ws.store.transaction() as session:
        site = get_site(session, "slope-r")
        assessment, before = record_assessment(session, site, AssessmentInput(level, level, {}, level, None))
        assert assessment.level != before
        data = AlertInput([f"test: {level}"], None, None, [], 0, "test-model")
        alert = issue_alert(session, site, assessment, before, data, ws.site_config(site), ws.home / "evidence")
        return alert.id, alert.created_at


def mail_files(ws: WorkspaceDir) -> list[str]:
    return sorted(p.name for p in (ws.home.parent / "mail").glob("*.eml"))


def test_due_reminder_counts_whole_intervals_up_to_the_cap() -> None:
    t0 = datetime(2026, 5, 1, 8, tzinfo=UTC)
    assert due_reminder(t0, t0 + timedelta(hours=3, minutes=59), 4.0, 6) == 0
    assert due_reminder(t0, t0 + timedelta(hours=4), 4.0, 6) == 1
    assert due_reminder(t0, t0 + timedelta(hours=9), 4.0, 6) == 2
    assert due_reminder(t0, t0 + timedelta(days=30), 4.0, 6) == 6
    assert due_reminder(t0, t0 - timedelta(hours=1), 4.0, 6) == 0


def test_unacknowledged_alert_is_reminded_once_per_interval_and_not_on_the_cap_feed(ws: WorkspaceDir) -> None:
    alert_id, created = raise_level(ws, "orange")
    assert len(flush_site_outbox(ws, now=created + timedelta(hours=1)).sent) == 2  # file + CAP
    assert len(mail_files(ws)) == 1

    first = flush_site_outbox(ws, now=created + timedelta(hours=24, minutes=5))
    assert len(first.sent) == 1  # the on-call address only, not the CAP feed
    again = flush_site_outbox(ws, now=created + timedelta(hours=25))
    assert again.sent == [] and queue_reminders(ws.store, created + timedelta(hours=25), ws.site_config) == []
    flush_site_outbox(ws, now=created + timedelta(hours=48, minutes=1))

    names = mail_files(ws)
    assert names == [
        f"slope-r-{alert_id}-oncall-example-org-orange-reminder-1.eml",
        f"slope-r-{alert_id}-oncall-example-org-orange-reminder-2.eml",
        f"slope-r-{alert_id}-oncall-example-org-orange.eml",
    ]
    text = (ws.home.parent / "mail" / names[1]).read_text()
    assert "REMINDER 2, not acknowledged: ORANGE" in text and "Not acknowledged yet: reminder 2." in text
    assert len(list((ws.home.parent / "cap").glob("*.xml"))) == 1
    with ws.store.transaction() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [(r.channel, r.reminder, r.status) for r in rows] == [
            ("files", 0, "sent"),
            ("feed", 0, "sent"),
            ("files", 1, "sent"),
            ("files", 2, "sent"),
        ]


def test_after_an_outage_only_the_latest_due_reminder_goes_out_and_never_past_the_cap(ws: WorkspaceDir) -> None:
    _, created = raise_level(ws, "red")
    flush_site_outbox(ws, now=created + timedelta(hours=9))  # 4 h interval: reminder 2 is due, 1 was missed
    flush_site_outbox(ws, now=created + timedelta(days=10))
    flush_site_outbox(ws, now=created + timedelta(days=11))
    with ws.store.transaction() as session:
        reminders = session.scalars(select(Delivery.reminder).where(Delivery.reminder > 0)).all()
    assert sorted(reminders) == [2, 3]


def test_acknowledgement_stops_reminders_and_drops_a_queued_one(ws: WorkspaceDir) -> None:
    alert_id, created = raise_level(ws, "orange")
    assert len(flush_site_outbox(ws, now=created + timedelta(minutes=1)).sent) == 2
    later = created + timedelta(hours=24)
    assert len(queue_reminders(ws.store, later, ws.site_config)) == 1
    ack_alert(ws.store, alert_id, "J. Doe")
    report = flush_site_outbox(ws, now=later)
    assert report.sent == [] and len(report.cancelled) == 1
    assert "1 reminders dropped" in str(report)
    assert flush_site_outbox(ws, now=created + timedelta(hours=72)).sent == []
    with ws.store.transaction() as session:
        dropped = session.scalar(select(Delivery).where(Delivery.reminder == 1))
        assert dropped is not None and dropped.status == "cancelled" and "J. Doe" in (dropped.last_error or "")


def test_a_superseded_alert_is_not_reminded(ws: WorkspaceDir) -> None:
    orange_id, created = raise_level(ws, "orange")
    queue_reminders(ws.store, created + timedelta(hours=24), ws.site_config)
    yellow_id, _ = raise_level(ws, "yellow")  # yellow needs no acknowledgement
    report = flush_site_outbox(ws, now=created + timedelta(hours=24))
    assert len(report.cancelled) == 1
    assert queue_reminders(ws.store, created + timedelta(hours=100), ws.site_config) == []
    with ws.store.transaction() as session:
        assert session.get_one(Alert, yellow_id).requires_ack is False
        sent = session.scalars(select(Delivery.alert_id).where(Delivery.status == "sent")).all()
        assert sorted(sent) == sorted([orange_id, orange_id, yellow_id])


def test_a_site_config_broken_after_the_alert_skips_its_reminders_without_stopping_the_flush(
    ws: WorkspaceDir, tmp_path: Path
) -> None:
    _, created = raise_level(ws, "red")
    flush_site_outbox(ws, now=created + timedelta(minutes=1))
    (tmp_path / "site.yaml").write_text("rules:\n  ack_reminders: {red: -4}\n")
    report = flush_site_outbox(ws, now=created + timedelta(hours=5))
    assert report.sent == [] and report.failed == []
    (tmp_path / "site.yaml").write_text(SITE_YAML)
    assert len(flush_site_outbox(ws, now=created + timedelta(hours=5)).sent) == 1
