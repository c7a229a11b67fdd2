"""``geowarn report SITE --html``: one self-contained file with the site's latest cracks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geowarn.cli.main import main


def test_the_report_is_one_offline_file(monitored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "slope-a.html"
    assert main(["report", "slope-a", "--html", str(out), "--home", str(monitored)]) == 0
    assert "self-contained" in capsys.readouterr().out
    html = out.read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", html)  # nothing fetched from elsewhere
    assert "L.map(" in html and "data:image/png;base64," in html and "extending" in html
    assert html.count('"crack_id": ') == 2  # the two cracks of the latest survey, as GeoJSON


def test_errors_name_the_problem(monitored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "nope", "--html", str(tmp_path / "x.html"), "--home", str(monitored)]) == 2
    assert "site 'nope' does not exist" in capsys.readouterr().err
    assert main(["report", "slope-b", "--html", str(tmp_path / "x.html"), "--home", str(monitored)]) == 2
    assert "has no survey yet" in capsys.readouterr().err
    assert main(["report", "slope-a", "--html", str(tmp_path / "no" / "x.html"), "--home", str(monitored)]) == 2
    assert "does not exist; create it first" in capsys.readouterr().err
