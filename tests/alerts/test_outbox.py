"""Outbox delivery: retries while a channel is down, exactly once per recipient, crash safety."""

import os
import socket
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from geowarn.alerts.outbox import RetryPolicy
from geowarn.pipeline.monitor import Processor, flush_site_outbox, monitor
from geowarn.store.schema import Delivery
from geowarn.workspace import WorkspaceDir, open_workspace
from geowarn.workspace.sites import add_site, add_survey
from tests.conftest import soil_rgb, write_geotiff

# Run on SQLite and on PostgreSQL (tests/pg.py).
pytestmark = pytest.mark.usefixtures("db_backend")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def damaged_survey(tmp_path: Path) -> Path:
    """A valid GeoTIFF when added, truncated before processing: its processing fails (alert: no data)."""
    return write_geotiff(tmp_path / "s1.tif", soil_rgb(300, 300, 1), compress="deflate", tiled=True)


def site_with_stored_alert(tmp_path: Path, config_text: str | None, toy_cascade) -> WorkspaceDir:  # type: ignore[no-untyped-def]
    ws = open_workspace(tmp_path / "home")
    config = None
    if config_text is not None:
        config = tmp_path / "site.yaml"
        config.write_text(config_text)
    add_site(ws, "slope-b", config=config)
    path = damaged_survey(tmp_path)
    add_survey(ws, "slope-b", path, date(2026, 5, 1))
    path.write_bytes(path.read_bytes()[:2000])
    monitor(ws, processor=Processor(ws, cascade=toy_cascade), deliver=False, today=date(2026, 5, 1))
    return ws


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(envelope.content)
        return "250 OK"


def test_smtp_down_then_delivered_once(tmp_path: Path, toy_cascade) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    config = f"""
channels:
  mail: {{type: email, host: 127.0.0.1, port: {port}, security: none, from_addr: geowarn@test.local, timeout_s: 3}}
recipients:
  - {{name: on call, channel: mail, address: oncall@test.local}}
"""
    ws = site_with_stored_alert(tmp_path, config, toy_cascade)
    first = flush_site_outbox(ws)
    assert (first.sent, first.failed, len(first.retrying)) == ([], [], 1)
    with ws.store.transaction() as s:
        row = s.scalars(select(Delivery)).one()
        assert row.status == "pending" and row.attempts == 1 and "127.0.0.1" in (row.last_error or "")
        assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)  # backing off
    assert not flush_site_outbox(ws).sent  # not due yet
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        later = datetime.now(UTC) + RetryPolicy().delay(1) + timedelta(seconds=1)
        assert len(flush_site_outbox(ws, now=later).sent) == 1
        assert not flush_site_outbox(ws, now=later + timedelta(hours=2)).sent
    finally:
        server.stop()
    assert len(inbox.messages) == 1
    assert b"NODATA" in inbox.messages[0] and b"geowarn-alert-slope-b-1-mail" in inbox.messages[0]


def run_cli(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    code = "import sys; from geowarn.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_killed_between_storing_and_sending_delivers_once_after_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(["site", "add", "slope-c", "--home", str(home)], {}).returncode == 0
    path = damaged_survey(tmp_path)
    assert (
        run_cli(["survey", "add", "slope-c", str(path), "--date", "2026-05-01", "--home", str(home)], {}).returncode
        == 0
    )
    path.write_bytes(path.read_bytes()[:2000])
    killed = run_cli(
        ["monitor", "--home", str(home), "--today", "2026-05-01"], {"GEOWARN_FAILPOINTS": "monitor.before-deliver"}
    )
    assert killed.returncode == 137, killed.stderr
    assert not (home / "outbox").exists() or not list((home / "outbox").iterdir())
    # killed again right after sending, before recording it: the resend carries the same key and is skipped
    crashed = run_cli(["outbox", "flush", "--home", str(home)], {"GEOWARN_FAILPOINTS": "outbox.after-send"})
    assert crashed.returncode == 137, crashed.stderr
    done = run_cli(["outbox", "flush", "--all", "--home", str(home)], {})
    assert done.returncode == 0 and "1 sent" in done.stdout, done.stdout + done.stderr
    again = run_cli(["outbox", "flush", "--all", "--home", str(home)], {})
    assert "0 sent" in again.stdout
    assert len(list((home / "outbox").glob("*.eml"))) == 1
    listing = run_cli(["alerts", "list", "--home", str(home), "--json"], {})
    assert '"level": "nodata"' in listing.stdout
