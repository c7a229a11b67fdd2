"""One poison survey, one broken site: recorded where it happened, and every other site goes on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text

from geowarn.pipeline.monitor import Processor, monitor
from geowarn.store.schema import Assessment, Delivery, Site, Survey
from geowarn.workspace import WorkspaceDir, open_workspace
from geowarn.workspace.sites import add_site, add_survey, remove_survey, retry_survey, site_info
from tests.hardening import tally

D1, D2, D3, D4 = date(2026, 5, 1), date(2026, 5, 8), date(2026, 5, 15), date(2026, 5, 22)
LINE = [[(60.0, 150.0), (260.0, 170.0)], [(120.0, 380.0), (300.0, 420.0)]]


@pytest.fixture
def ws(tmp_path: Path) -> WorkspaceDir:
    w = open_workspace(tmp_path / "home")
    add_site(w, "a-slope", config=_yaml(tmp_path, "a"))
    add_site(w, "b-slope", config=_yaml(tmp_path, "b"))
    return w


def _yaml(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text("rules: {overdue_days: 30}\n")
    return path


def statuses(ws: WorkspaceDir, slug: str) -> list[str]:
    with ws.store.transaction() as s:
        site = s.scalars(select(Site).where(Site.slug == slug)).one()
        return [x.status for x in s.scalars(select(Survey).where(Survey.site_id == site.id).order_by(Survey.id))]


def test_a_poison_survey_stops_nothing(ws: WorkspaceDir, scene, toy_cascade, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    processor = Processor(ws, cascade=toy_cascade)
    a1, a2 = scene("a1.tif", LINE), scene("a2.tif", LINE, offset=(0.05, 0.0))
    add_survey(ws, "a-slope", a1, D1)
    add_survey(ws, "a-slope", a2, D2)
    add_survey(ws, "b-slope", scene("b1.tif", LINE, seed=7), D1)
    moved = a2.rename(tmp_path / "elsewhere.tif")  # survey 2 fails: its file moved away
    report = monitor(ws, processor=processor, today=D2)
    assert statuses(ws, "a-slope") == ["processed", "failed"] and statuses(ws, "b-slope") == ["processed"]
    # a new survey of the same date is refused, naming the failed one and the fixes
    with pytest.raises(Exception, match=r"is the date of survey 2 .*failed.*survey replace a-slope 2") as info:
        add_survey(ws, "a-slope", scene("a2b.tif", LINE, seed=11), D2)
    tally("bad inputs", clean="\n" not in str(info.value))
    add_survey(ws, "a-slope", scene("a3.tif", LINE, offset=(0.02, 0.01)), D3)
    add_survey(ws, "b-slope", scene("b2.tif", LINE, seed=7, offset=(0.03, 0.0)), D3)
    monitor(ws, processor=processor, today=D3)
    moved.rename(a2)  # the file is back, but survey 3 has been processed since
    report = monitor(ws, processor=processor, today=D3, retry_failed=True)
    assert report.ok, str(report)
    failed = site_info(ws, "a-slope")
    assert statuses(ws, "a-slope") == ["processed", "failed", "processed"] and failed.failed == 1
    with ws.store.transaction() as s:
        error = s.get_one(Survey, 2).error or ""
    assert "can no longer be processed: remove it with 'geowarn survey remove a-slope 2'" in error
    add_survey(ws, "b-slope", scene("b3.tif", LINE, seed=7, offset=(0.01, 0.0)), D4)
    report = monitor(ws, processor=processor, today=D4)  # later runs go on for every site
    assert statuses(ws, "b-slope") == ["processed"] * 3 and report.ok
    assert "removed" in remove_survey(ws, "a-slope", 2)
    tally("crash trials", clean=True)


def test_a_survey_stored_twice_for_one_date_before_the_fix_fails_cleanly(  # type: ignore[no-untyped-def]
    ws: WorkspaceDir, scene, toy_cascade
) -> None:
    add_survey(ws, "a-slope", scene("a1.tif", LINE), D1)
    add_survey(ws, "a-slope", scene("a2.tif", LINE, offset=(0.05, 0.0)), D2)
    monitor(ws, processor=Processor(ws, cascade=toy_cascade), today=D2)
    with ws.store.engine.begin() as conn:  # what an older geowarn let in: a second survey of date D2
        conn.execute(
            text(
                "INSERT INTO surveys (site_id, path, sha256, acquired_on, added_at, status, width, height, gsd_m, crs)"
                " SELECT site_id, path, 'f00d', acquired_on, added_at, 'pending', width, height, gsd_m, crs"
                " FROM surveys WHERE id = 2"
            )
        )
    report = monitor(ws, processor=Processor(ws, cascade=toy_cascade), today=D2)
    assert report.ok and statuses(ws, "a-slope") == ["processed", "processed", "failed"]
    assert "tracked in date order" in (report.surveys[0].reason or "")
    tally("crash trials", clean=True)


def test_a_failed_survey_retried_in_time_is_processed(ws: WorkspaceDir, scene, toy_cascade, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    processor = Processor(ws, cascade=toy_cascade)
    add_survey(ws, "a-slope", scene("a1.tif", LINE), D1)
    a2 = scene("a2.tif", LINE, offset=(0.05, 0.0))
    add_survey(ws, "a-slope", a2, D2)
    moved = a2.rename(tmp_path / "away.tif")
    monitor(ws, processor=processor, today=D2)
    moved.rename(a2)
    retry_survey(ws, "a-slope", 2)
    monitor(ws, processor=processor, today=D2)
    assert statuses(ws, "a-slope") == ["processed", "processed"]
    with ws.store.transaction() as s:  # its failure's record stays beside the new one
        keys = sorted(s.scalars(select(Assessment.trigger_key).where(Assessment.survey_id == 2)))
    assert keys == ["survey:2", "survey:2:2"]


@pytest.mark.parametrize("damage", ["deleted", "invalid zone", "bad recipient", "duplicate key"])
def test_a_broken_site_yaml_is_recorded_and_the_other_sites_go_on(  # type: ignore[no-untyped-def]
    ws: WorkspaceDir, scene, toy_cascade, tmp_path: Path, damage: str
) -> None:
    add_survey(ws, "a-slope", scene("a1.tif", LINE), D1)
    add_survey(ws, "b-slope", scene("b1.tif", LINE, seed=7), D1)
    yaml_a = tmp_path / "a.yaml"
    if damage == "deleted":
        yaml_a.unlink()
    elif damage == "invalid zone":
        yaml_a.write_text("rules:\n  zones: [{name: top, wkt: 'POLYGON ((0 0, 1'}]\n")
    elif damage == "bad recipient":
        yaml_a.write_text('recipients: [{name: x, channel: outbox-files, address: "a\\nBcc: b"}]\n')
    else:
        yaml_a.write_text("rules: {overdue_days: 30}\nrules: {overdue_days: 3}\n")
    report = monitor(ws, processor=Processor(ws, cascade=toy_cascade), today=D1)
    assert not report.ok and [f.site for f in report.failed_sites] == ["a-slope"]
    assert "a-slope: NOT MONITORED, " in str(report) and str(yaml_a) in str(report)
    assert statuses(ws, "a-slope") == ["pending"] and statuses(ws, "b-slope") == ["processed"]
    assert report.outbox is not None and report.outbox.ok
    assert str(yaml_a) in (site_info(ws, "a-slope").error or "")
    _yaml(tmp_path, "a")
    assert monitor(ws, processor=Processor(ws, cascade=toy_cascade), today=D1).ok
    assert site_info(ws, "a-slope").error is None and statuses(ws, "a-slope") == ["processed"]
    tally("bad inputs", clean=True)


def test_a_site_name_stored_with_a_line_break_still_alerts(ws: WorkspaceDir, scene, toy_cascade) -> None:  # type: ignore[no-untyped-def]
    with ws.store.transaction() as s:  # stored before names were checked
        s.scalars(select(Site).where(Site.slug == "a-slope")).one().name = "A\nBcc: attacker@example.org"
    path = scene("a1.tif", LINE)
    add_survey(ws, "a-slope", path, D1)
    path.write_bytes(path.read_bytes()[:3000])  # fails: a "no data" alert, with the name in its subject
    report = monitor(ws, processor=Processor(ws, cascade=toy_cascade), today=D1)
    assert report.ok and report.alerts
    with ws.store.transaction() as s:
        assert [d.status for d in s.scalars(select(Delivery))] == ["sent"]
    eml = next((ws.home / "outbox").glob("*.eml")).read_bytes()
    assert b"\nBcc:" not in eml and b"A Bcc: attacker@example.org" in eml
    tally("bad inputs", clean=True)


def test_models_that_do_not_load_leave_surveys_pending_and_still_check_overdue(  # type: ignore[no-untyped-def]
    ws: WorkspaceDir, scene, tmp_path: Path
) -> None:
    from geowarn.pipeline.detect_config import DetectConfig

    add_survey(ws, "a-slope", scene("a1.tif", LINE), D1)
    add_survey(ws, "b-slope", scene("b1.tif", LINE, seed=7), D1)
    config = DetectConfig(classifier=None, segmenter_weights=tmp_path / "missing.pt")
    report = monitor(ws, processor=Processor(ws, config), today=date(2026, 7, 1))
    assert [f.site for f in report.failed_sites] == ["a-slope", "b-slope"]
    assert all("missing.pt" in f.reason for f in report.failed_sites)
    assert statuses(ws, "a-slope") == ["pending"] and statuses(ws, "b-slope") == ["pending"]
    assert str(report).count("survey overdue") == 2 and report.outbox is not None
    tally("crash trials", clean=True)
