"""``geowarn users add|list|remove`` and ``geowarn dashboard --help``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from geowarn.cli.main import main


def test_users_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    home = ["--home", str(tmp_path / "ws")]
    assert main(["users", "add", "ada", "--role", "admin", *home]) == 0
    out = capsys.readouterr().out
    assert "user ada added as admin (sees every site)" in out and "password (shown once): " in out
    monkeypatch.setattr("sys.stdin", io.StringIO("typed on stdin 123\n"))
    assert main(["users", "add", "vic", "--sites", "north-slope,south", "--password-stdin", *home]) == 0
    assert "user vic added as viewer (sees north-slope, south)" in capsys.readouterr().out
    assert main(["users", "list", "--json", *home]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["username"], r["role"], r["sites"]) for r in rows] == [
        ("ada", "admin", "all"),
        ("vic", "viewer", "north-slope,south"),
    ]
    assert "password" not in json.dumps(rows)
    assert main(["users", "remove", "vic", *home]) == 0 and "removed" in capsys.readouterr().out
    assert main(["users", "remove", "vic", *home]) == 2
    assert "user 'vic' does not exist" in capsys.readouterr().err


def test_dashboard_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["dashboard", "--help"])
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out and "--db" in out and "--secure-cookies" in out
