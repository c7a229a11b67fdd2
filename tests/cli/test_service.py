"""``geowarn serve --once``, ``geowarn jobs list`` and ``geowarn jobs run``."""

from pathlib import Path

import pytest

from geowarn.cli.main import main


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    (tmp_path / "drop").mkdir()
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "sites.yaml").write_text(
        f"sites: [{{site: slope-a, drop_folder: {tmp_path / 'drop'}}}]\n"
    )
    return tmp_path / "pipelines"


def test_serve_once_then_jobs_list_and_run(
    pipelines: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEOWARN_DB", raising=False)
    home = ["--home", str(tmp_path / "home")]
    assert main(["serve", "--pipelines", str(pipelines), *home, "--once", "-q"]) == 0
    out = capsys.readouterr().out
    assert "ingest:slope-a: 0 files offered, 0 surveys added, 0 refused" in out and "outbox: outbox: 0 sent" in out
    assert main(["jobs", "list", *home]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("service: not running")
    for job in ("ingest:slope-a", "overdue:slope-a", "reminders", "outbox"):
        assert job in listing
    assert "ok" in listing and "never run" not in listing
    assert main(["jobs", "run", "reminders", "--pipelines", str(pipelines), *home, "-q"]) == 0
    assert "reminders: no reminder due" in capsys.readouterr().out
    assert main(["jobs", "run", "nope", "--pipelines", str(pipelines), *home, "-q"]) == 2
    assert "no job 'nope'; the jobs are: ingest:slope-a" in capsys.readouterr().err


def test_serve_names_a_bad_programme(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.yaml").write_text("sites: [{site: a, drop_folder: d, settle: 3}]\n")
    assert main(["serve", "--pipelines", str(tmp_path / "p"), "--home", str(tmp_path / "h"), "--once"]) == 2
    assert "a.yaml: key 'sites.0.settle': value 3: unknown key" in capsys.readouterr().err
