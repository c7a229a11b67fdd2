"""The monitoring commands as users call them (in-process; detection with the toy cascade)."""

import json
from datetime import date
from pathlib import Path

from geowarn.cli import main
from geowarn.pipeline.monitor import Processor, monitor
from geowarn.workspace import open_workspace
from tests.conftest import soil_rgb, write_geotiff


def test_site_survey_alert_commands(tmp_path: Path, capsys, toy_cascade) -> None:  # type: ignore[no-untyped-def]
    home = ["--home", str(tmp_path / "home")]
    config = tmp_path / "site.yaml"
    config.write_text("rules: {overdue_days: 10}\n")
    assert main(["site", "add", "north-slope", "--name", "North slope", "--config", str(config), *home]) == 0
    assert main(["site", "add", "North Slope!", *home]) == 2
    assert "'North Slope!': not a slug" in capsys.readouterr().err
    ortho = write_geotiff(tmp_path / "s1.tif", soil_rgb(300, 300, 1))
    assert main(["survey", "add", "north-slope", str(ortho), "--date", "2026-05-01", *home]) == 0
    assert main(["survey", "add", "north-slope", str(ortho), "--date", "2026-05-01", *home]) == 0
    out = capsys.readouterr().out
    assert "added survey 1" in out and "already survey 1" in out
    capsys.readouterr()

    ws = open_workspace(tmp_path / "home")
    monitor(ws, processor=Processor(ws, cascade=toy_cascade), today=date(2026, 6, 1))  # overdue → no data alert
    ws.close()
    assert main(["site", "list", "--json", *home]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["site"] == "north-slope" and rows[0]["level"] == "nodata"
    assert main(["site", "show", "north-slope", *home]) == 0
    assert "processed" in capsys.readouterr().out
    assert main(["alerts", "list", *home]) == 0
    assert "survey overdue" in capsys.readouterr().out
    assert main(["alerts", "ack", "1", "--by", "on call", *home]) == 0
    assert main(["alerts", "ack", "1", "--by", "someone else", *home]) == 0
    out = capsys.readouterr().out
    assert "acknowledged by on call" in out and "already acknowledged by on call" in out
    assert main(["alerts", "ack", "99", "--by", "x", *home]) == 2
    assert main(["outbox", "list", "--json", *home]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "sent"
    assert main(["survey", "add", "nope", str(ortho), "--date", "2026-05-02", *home]) == 2
    assert "site 'nope' does not exist (known: north-slope)" in capsys.readouterr().err
