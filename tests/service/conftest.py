"""Helpers for the service tests: programmes in a folder, growing-crack surveys, a controlled clock, an inbox."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.conftest import write_scene
from tests.pipeline.test_monitor import LENGTHS, OFFSETS, STABLE, main_crack


class Clock:
    """A controlled clock: moves only when told, and never behind the real time (file mtimes are real)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now = max(self.now, datetime.now(UTC)) + timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def survey_dates(today: date | None = None) -> list[date]:
    """Three weekly survey dates ending today (a survey may not be dated in the future)."""
    today = today or datetime.now(UTC).date()
    return [today - timedelta(days=14), today - timedelta(days=7), today]


def write_surveys(folder: Path, dates: list[date]) -> list[Path]:
    """Three surveys of a crack growing 40 then 50 px a week (yellow, then red), named ``flight-YYYY-MM-DD.tif``."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_scene(folder / f"flight-{day}.tif", [main_crack(length), STABLE], offset=offset, gain=gain)
        for day, length, offset, gain in zip(dates, LENGTHS, OFFSETS, (1.0, 0.9, 1.1), strict=True)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on loopback: (its inbox, its port)."""
    from aiosmtpd.controller import Controller

    inbox, port = Inbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield inbox, port
    finally:
        server.stop()


def mail_site_yaml(port: int) -> str:
    return textwrap.dedent(
        f"""
        channels:
          mail: {{type: email, host: 127.0.0.1, port: {port}, security: none, from_addr: geowarn@test.local}}
        recipients:
          - {{name: on call, channel: mail, address: oncall@test.local}}
        """
    )


@pytest.fixture
def programme_dir(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``programme_dir(site_yaml=..., **site keys)`` writes ``pipelines/sites.yaml``; returns the folder."""

    def factory(site_yaml: str | None = None, service: str = "", **keys: Any) -> Path:
        folder = tmp_path / "pipelines"
        folder.mkdir(exist_ok=True)
        lines = ["sites:", "  - site: slope-a", f"    drop_folder: {tmp_path / 'drop'}"]
        if site_yaml is not None:
            (folder / "sites").mkdir(exist_ok=True)
            (folder / "sites" / "slope-a.yaml").write_text(site_yaml)
            lines.append("    config: sites/slope-a.yaml")
        lines += [f"    {key}: {value}" for key, value in keys.items()]
        (folder / "sites.yaml").write_text(service + "\n".join(lines) + "\n")
        (tmp_path / "drop").mkdir(exist_ok=True)
        return folder

    return factory
