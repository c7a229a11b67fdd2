"""Every flush mode claims rows through one lease; a dead holder's lease is taken over at once; errors stay secret."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from geowarn.alerts.issue import AlertInput, issue_alert
from geowarn.alerts.outbox import flush_outbox
from geowarn.alerts.payload import AlertPayload
from geowarn.assess.record import AssessmentInput, record_assessment
from geowarn.pipeline.monitor import flush_site_outbox
from geowarn.redact import forget_secrets
from geowarn.store.lease import Owner, this_process
from geowarn.store.queries import get_site
from geowarn.store.schema import Delivery, Site
from geowarn.workspace import WorkspaceDir, open_workspace
from geowarn.workspace.sites import add_site
from tests.alerts.conftest import LoopbackServer
from tests.hardening import tally

# Run on SQLite and on PostgreSQL (tests/pg.py).
pytestmark = pytest.mark.usefixtures("db_backend")


def workspace(tmp_path: Path, yaml_text: str = "") -> WorkspaceDir:
    ws = open_workspace(tmp_path / "home")
    config = tmp_path / "site.yaml"
    config.write_text(yaml_text)
    add_site(ws, "slope-l", config=config)
    return ws


def issue(ws: WorkspaceDir, level: str = "yellow") -> int:
    with ws.store.transaction() as session:
        site = get_site(session, "slope-l")
        assessment, before = record_assessment(session, site, AssessmentInput(level, level, {}, level, None))
        data = AlertInput([f"test: {level}"], None, None, [], 0, "test-model")
        return issue_alert(session, site, assessment, before, data, ws.site_config(site), ws.home / "evidence").id


def rows(ws: WorkspaceDir) -> list[Delivery]:
    with ws.store.transaction() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def lease(ws: WorkspaceDir, owner: str, until: datetime) -> None:
    with ws.store.transaction() as session:
        session.execute(update(Delivery).values(claimed_by=owner, claimed_until=until))


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_force_never_takes_a_row_another_live_process_holds(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    issue(ws)
    lease(ws, str(this_process()), datetime.now(UTC) + timedelta(minutes=10))
    report = flush_site_outbox(ws, force=True)
    assert report.sent == [] and [r.status for r in rows(ws)] == ["pending"]
    assert not list((ws.home / "outbox").glob("*.eml"))
    tally("delivery faults", clean=True)


def test_the_lease_of_a_process_that_is_gone_is_taken_over_at_once(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    issue(ws)
    gone = Owner(this_process().host, dead_pid(), "1")
    lease(ws, str(gone), datetime.now(UTC) + timedelta(minutes=10))
    report = flush_site_outbox(ws)  # not even --all: the row is due, only its lease was in the way
    assert len(report.sent) == 1 and [r.status for r in rows(ws)] == ["sent"]
    assert rows(ws)[0].claimed_by is None
    tally("delivery faults", clean=len(list((ws.home / "outbox").glob("*.eml"))) == 1)


def test_a_lease_held_on_another_machine_waits_for_its_expiry(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    issue(ws)
    now = datetime.now(UTC)
    lease(ws, "elsewhere+0000:1:1", now + timedelta(minutes=10))
    assert flush_site_outbox(ws, force=True, now=now).sent == []
    assert len(flush_site_outbox(ws, force=True, now=now + timedelta(minutes=11)).sent) == 1


class Broken:
    kind = "webhook"

    def send(self, payload: AlertPayload, recipient: str, key: str, attachments: Mapping[str, bytes]) -> str:
        raise RuntimeError(f"bug with {recipient}")


class Kept:
    kind = "file"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, payload: AlertPayload, recipient: str, key: str, attachments: Mapping[str, bytes]) -> str:
        self.sent.append(key)
        return "ok"


def test_a_channel_that_crashes_is_a_failed_attempt_and_the_others_go_out(tmp_path: Path) -> None:
    ws = workspace(
        tmp_path,
        "channels:\n  a: {type: file, directory: a}\n  b: {type: file, directory: b}\n"
        "recipients:\n  - {name: x, channel: a, address: x}\n  - {name: y, channel: b, address: y}\n",
    )
    issue(ws)
    kept = Kept()

    def channels(site: Site) -> dict[str, Any]:
        return {"a": Broken(), "b": kept}

    report = flush_outbox(ws.store, channels)
    assert len(report.sent) == 1 and len(report.retrying) == 1 and len(kept.sent) == 1
    broken = next(r for r in rows(ws) if r.channel == "a")
    assert broken.status == "pending" and broken.claimed_by is None
    assert "unexpected RuntimeError: bug with x" in (broken.last_error or "")
    tally("delivery faults", clean=True)


def test_a_token_never_reaches_last_error_or_the_log(
    tmp_path: Path, http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    forget_secrets()
    monkeypatch.setenv("HOOK_TOKEN", "tok-2718281828")
    ws = workspace(
        tmp_path,
        f"channels:\n  hook: {{type: webhook, url: '{http_server.url}/h', "
        "headers: {Authorization: 'Bearer {env:HOOK_TOKEN}'}}\n"
        "recipients:\n  - {name: ops, channel: hook, address: ops}\n",
    )
    issue(ws)
    http_server.reply(500, b"upstream said: Authorization: Bearer tok-2718281828 rejected")
    report = flush_site_outbox(ws)
    assert len(report.retrying) == 1
    error = rows(ws)[0].last_error or ""
    assert "HTTP 500" in error and "tok-2718281828" not in error
    assert "tok-2718281828" not in caplog.text
    monkeypatch.setenv("HOOK_TOKEN", "tok-2718281828\n")  # a variable read from a file with its line break
    report = flush_site_outbox(ws, force=True)
    error = rows(ws)[0].last_error or ""
    assert report.failed and "header 'Authorization' would contain a line break" in error
    assert "tok-2718281828" not in error
    tally("secrets", clean=True)


def test_flush_exits_1_when_a_delivery_failed(tmp_path: Path, closed_port: int) -> None:
    from geowarn.cli import main

    config = tmp_path / "site.yaml"
    config.write_text(
        f"channels:\n  hook: {{type: webhook, url: 'http://127.0.0.1:{closed_port}/h', timeout_s: 2}}\n"
        "recipients:\n  - {name: ops, channel: hook, address: ops}\n"
    )
    home = ["--home", str(tmp_path / "home")]
    assert main(["site", "add", "slope-l", "--config", str(config), *home]) == 0
    ws = open_workspace(tmp_path / "home")
    issue(ws)
    assert main(["outbox", "flush", "-q", *home]) == 1
    tally("delivery faults", clean=rows(ws)[0].status == "pending")
