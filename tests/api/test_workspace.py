"""``geowarn.Workspace``: the monitoring API that the command line, a scheduler and a dashboard share."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

import geowarn
from tests.pipeline.conftest import write_scene
from tests.pipeline.test_monitor import D1, D2, D3, LENGTHS, OFFSETS, STABLE, main_crack


@pytest.fixture
def ws(tmp_path: Path, toy_cascade) -> geowarn.Workspace:  # type: ignore[no-untyped-def]
    workspace = geowarn.Workspace(tmp_path / "home")
    workspace.add_site("slope-a", "Slope A")
    for i, (length, offset, day) in enumerate(zip(LENGTHS, OFFSETS, (D1, D2, D3), strict=True)):
        path = write_scene(tmp_path / f"s{i + 1}.tif", [main_crack(length), STABLE], offset=offset)
        assert workspace.add_survey("slope-a", path, day.isoformat() if i else day).created
    return workspace


def test_monitor_then_cracks_history_and_alerts(ws: geowarn.Workspace, toy_cascade) -> None:  # type: ignore[no-untyped-def]
    report = ws.monitor(today=D3, cascade=toy_cascade)
    assert [s.status for s in report.surveys] == ["processed"] * 3 and report.alerts
    assert [s.level for s in report.surveys] == ["green", "yellow", "red"]
    assert str(report).splitlines()[0].startswith("slope-a: survey 1 (2026-05-01): 2 cracks")
    (site,) = ws.sites()
    assert (site.site, site.surveys, site.tracks, site.level) == ("slope-a", 3, 2, "red")
    assert [s.status for s in ws.surveys("slope-a")] == ["processed"] * 3

    cracks = ws.cracks("slope-a")
    assert len(cracks) == 2 and cracks.crs.to_epsg() == 32633 and set(cracks["survey_id"]) == {3}
    main = int(cracks.sort_values("length_m").iloc[-1]["crack_id"])
    history = ws.crack_history("slope-a", main)
    assert list(history["date"]) == [D1, D2, D3] and history.crs == cracks.crs
    assert pd.isna(history["extension_m"].iloc[0]) and history["extension_m"].iloc[2] > 0.4
    assert bool(history["extension_significant"].iloc[2])
    assert len(ws.cracks("slope-a", survey=1)) == 2

    alerts = ws.alerts()
    assert [a.level for a in alerts] == ["red", "yellow"] and ws.alerts(unacked=True)[0].requires_ack
    ack = ws.acknowledge(alerts[0].id, "J. Doe", "barriers placed")
    assert not ack.already and "acknowledged by J. Doe" in ack.message
    assert ws.acknowledge(alerts[0].id, "someone else").already and not ws.alerts(unacked=True)
    assert {d.status for d in ws.deliveries()} == {"sent"} and not ws.flush_outbox().sent
    ws.close()


def test_typed_errors_and_no_printing(ws: geowarn.Workspace, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(geowarn.ConfigError, match="site 'nope' does not exist"):
        ws.cracks("nope")
    with pytest.raises(geowarn.ConfigError, match="has no crack 99"):
        ws.crack_history("slope-a", 99)
    with pytest.raises(geowarn.ConfigError, match="not after the site's latest survey"):
        ws.add_survey("slope-a", write_scene(tmp_path / "early.tif", [STABLE], seed=4), date(2026, 1, 1))
    assert ws.cracks("slope-a").empty  # nothing processed yet
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("kind", ["folder", "sqlite file", "url"])
def test_a_folder_a_database_file_or_a_url(tmp_path: Path, kind: str) -> None:
    target = {
        "folder": tmp_path / "ws",
        "sqlite file": tmp_path / "ws" / "sites.db",
        "url": f"sqlite:///{tmp_path / 'elsewhere.db'}",
    }[kind]
    with geowarn.Workspace(target, home=tmp_path / "ws" if kind == "url" else None) as ws:
        ws.add_site("s1")
        assert ws.home == (tmp_path / "ws").resolve() and [s.site for s in ws.sites()] == ["s1"]
