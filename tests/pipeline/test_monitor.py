"""End-to-end monitoring on tiny synthetic sites with the deterministic toy cascade."""

import itertools
import json
import math
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from geowarn.errors import ConfigError, InvalidRasterError
from geowarn.pipeline.monitor import Processor, monitor
from geowarn.store.schema import Alert, Assessment, Crack, Delivery, Growth, Survey, Track, TrackEvent
from geowarn.workspace import WorkspaceDir, open_workspace
from geowarn.workspace.sites import add_site, add_survey

GSD = 0.01
D1, D2, D3 = date(2026, 5, 1), date(2026, 5, 8), date(2026, 5, 15)


def main_crack(length_px: float) -> list[tuple[float, float]]:
    """A gently bending crack from (60, 150), extending to the right."""
    pts, x = [], 60.0
    while x - 60.0 <= length_px:
        pts.append((x, 150.0 + 12.0 * math.sin((x - 60.0) / 90.0)))
        x += 4.0
    return pts


STABLE = [(120.0, 380.0), (300.0, 420.0)]
LENGTHS = (200.0, 240.0, 290.0)
OFFSETS = ((0.0, 0.0), (0.234, -0.171), (-0.313, 0.126))


def counts(ws: WorkspaceDir) -> dict[str, int]:
    with ws.store.transaction() as s:
        return {
            t.__tablename__: s.scalar(select(func.count()).select_from(t))
            for t in (Survey, Crack, Track, Growth, Assessment, Alert, Delivery)
        }


@pytest.fixture
def ws(tmp_path: Path) -> WorkspaceDir:
    w = open_workspace(tmp_path / "home")
    add_site(w, "slope-a", "Slope A")
    return w


def growing_site(ws: WorkspaceDir, scene) -> list[Path]:  # type: ignore[no-untyped-def]
    paths = []
    for i, (length, offset, gain) in enumerate(zip(LENGTHS, OFFSETS, (1.0, 0.9, 1.1), strict=True)):
        p = scene(f"s{i + 1}.tif", [main_crack(length), STABLE], offset=offset, gain=gain)
        add_survey(ws, "slope-a", p, (D1, D2, D3)[i])
        paths.append(p)
    return paths


def test_three_surveys_stable_ids_growth_and_alerts(ws: WorkspaceDir, scene, toy_cascade) -> None:  # type: ignore[no-untyped-def]
    growing_site(ws, scene)
    report = monitor(ws, "slope-a", processor=Processor(ws, cascade=toy_cascade), today=D3)
    assert "FAILED" not in str(report) and "FLAGGED" not in str(report), str(report)
    with ws.store.transaction() as s:
        surveys = s.scalars(select(Survey).order_by(Survey.acquired_on)).all()
        assert [x.status for x in surveys] == ["processed"] * 3
        # registration recovers the GNSS offsets (moving -> reference) to well within 1 px
        for prev, cur, (o0, o1) in zip(surveys, surveys[1:], itertools.pairwise(OFFSETS), strict=False):
            assert cur.reference_survey_id == prev.id
            assert abs(cur.reg_dx_m - (o0[0] - o1[0])) < 0.3 * GSD
            assert abs(cur.reg_dy_m - (o0[1] - o1[1])) < 0.3 * GSD
        by_survey = {
            x.id: {c.track_id: c for c in s.scalars(select(Crack).where(Crack.survey_id == x.id))} for x in surveys
        }
        ids = [set(v) for v in by_survey.values()]
        assert len(ids[0]) == 2 and ids[0] == ids[1] == ids[2], ids  # the same two tracks in all three surveys
        main_track = max(by_survey[surveys[0].id].values(), key=lambda c: c.length_m).track_id
        growth = {g.survey_id: g for g in s.scalars(select(Growth).where(Growth.track_id == main_track))}
        for cur, l0, l1 in zip(surveys[1:], LENGTHS, LENGTHS[1:], strict=False):
            truth = (l1 - l0) * GSD
            for metric in ("length", "extension"):  # change of length, and length beyond the footprint
                g = growth[cur.id].metrics[metric]
                assert abs(g["delta_m"] - truth) <= max(0.05 * truth, 2 * GSD), (metric, g["delta_m"], truth)
                assert g["significant"]
        stable = [g for g in s.scalars(select(Growth).where(Growth.track_id != main_track))]
        assert stable and not any(g.metrics[m]["significant"] for g in stable for m in ("length", "extension"))
        alerts = s.scalars(select(Alert).order_by(Alert.id)).all()
        # 40 then 50 px a week at 1 cm: 57 and 71 mm/day, red; one crack needs a second survey to confirm
        assert [(a.previous_level, a.level) for a in alerts] == [("green", "yellow"), ("yellow", "red")]
        assert alerts[1].requires_ack and not alerts[0].requires_ack
        payload = alerts[1].payload
        assert payload["cracks"][0]["track_id"] == main_track
        assert payload["cracks"][0]["extension_rate_unc_mm_day"] > 0
        assert Path(alerts[1].evidence_path).read_bytes()[:4] == b"\x89PNG"
        assert [d.status for d in s.scalars(select(Delivery))] == ["sent", "sent"]
    outbox = sorted(p.name for p in (ws.home / "outbox").glob("*.json"))
    assert len(outbox) == 2
    assert json.loads((ws.home / "outbox" / outbox[1]).read_text())["payload"]["level"] == "red"


def test_monitor_twice_duplicates_nothing(ws: WorkspaceDir, scene, toy_cascade) -> None:  # type: ignore[no-untyped-def]
    paths = growing_site(ws, scene)
    processor = Processor(ws, cascade=toy_cascade)
    monitor(ws, processor=processor, today=D3)
    before = counts(ws)
    files = sorted((ws.home / "outbox").iterdir())
    second = monitor(ws, processor=processor, today=D3)
    assert counts(ws) == before
    assert sorted((ws.home / "outbox").iterdir()) == files
    assert second.outbox is not None and not second.outbox.sent
    again = add_survey(ws, "slope-a", paths[0], D1)
    assert not again.created and "already survey" in again.message
    assert counts(ws) == before


def test_corrupt_survey_is_flagged_and_the_rest_goes_on(ws: WorkspaceDir, scene, toy_cascade) -> None:  # type: ignore[no-untyped-def]
    p1 = scene("s1.tif", [main_crack(200), STABLE])
    p2 = scene("s2.tif", [main_crack(240), STABLE], offset=(0.1, 0.1))
    p3 = scene("s3.tif", [main_crack(240), STABLE], offset=(-0.2, 0.05))
    for p, d in ((p1, D1), (p2, D2), (p3, D3)):
        add_survey(ws, "slope-a", p, d)
    data = p2.read_bytes()
    p2.write_bytes(data[: len(data) // 3])  # damaged after it was added
    report = str(monitor(ws, processor=Processor(ws, cascade=toy_cascade), today=D3))
    assert "FAILED" in report
    with ws.store.transaction() as s:
        st = {x.path: x for x in s.scalars(select(Survey))}
        assert st[str(p1.resolve())].status == "processed"
        assert st[str(p2.resolve())].status == "failed" and st[str(p2.resolve())].error
        third = st[str(p3.resolve())]
        assert third.status == "processed" and third.reference_survey_id == st[str(p1.resolve())].id
        levels = [a.level for a in s.scalars(select(Assessment).order_by(Assessment.id))]
        assert levels[1] == "nodata" and levels[2] != "nodata"
        assert s.scalar(select(func.count()).select_from(Crack).where(Crack.survey_id == st[str(p2.resolve())].id)) == 0


def test_unregistrable_survey_is_flagged_without_growth(ws: WorkspaceDir, scene, toy_cascade) -> None:  # type: ignore[no-untyped-def]
    add_survey(ws, "slope-a", scene("s1.tif", [main_crack(200), STABLE]), D1)
    add_survey(ws, "slope-a", scene("s2.tif", [[(50.0, 450.0), (450.0, 60.0)]], seed=99), D2)  # another place
    report = str(monitor(ws, processor=Processor(ws, cascade=toy_cascade), today=D2))
    assert "FLAGGED" in report
    with ws.store.transaction() as s:
        second = s.scalars(select(Survey).order_by(Survey.acquired_on)).all()[1]
        assert second.status == "flagged" and second.reg_ok is False
        assert s.scalar(select(func.count()).select_from(Growth)) == 0
        last = s.scalars(select(Assessment).order_by(Assessment.id)).all()[-1]
        assert last.level == "nodata" and "could not be co-registered" in last.detail["reasons"][0]


def test_survey_rules(ws: WorkspaceDir, scene, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_survey(ws, "slope-a", scene("s1.tif", [STABLE]), D2)
    with pytest.raises(ConfigError, match="not after the site's latest survey"):
        add_survey(ws, "slope-a", scene("s0.tif", [STABLE], seed=4), D1)
    with pytest.raises(ConfigError, match="site 'nope' does not exist"):
        add_survey(ws, "nope", scene("s2.tif", [STABLE], seed=5), D3)
    bad = tmp_path / "bad.tif"
    bad.write_text("not a tiff")
    with pytest.raises(InvalidRasterError):
        add_survey(ws, "slope-a", bad, D3)
    assert counts(ws)["surveys"] == 1


def test_overdue_site_goes_to_nodata_once(ws: WorkspaceDir, scene, toy_cascade) -> None:  # type: ignore[no-untyped-def]
    add_survey(ws, "slope-a", scene("s1.tif", [STABLE]), D1)
    processor = Processor(ws, cascade=toy_cascade)
    monitor(ws, processor=processor, today=D1)
    late = date(2026, 6, 30)
    assert "survey overdue" in str(monitor(ws, processor=processor, today=late))
    assert "overdue" not in str(monitor(ws, processor=processor, today=late))
    with ws.store.transaction() as s:
        alerts = s.scalars(select(Alert)).all()
        assert [(a.previous_level, a.level) for a in alerts] == [("green", "nodata")]


@pytest.mark.parametrize("lookback_surveys", [3, 0])
def test_a_crack_seen_faintly_before_is_not_growth_when_found_whole(  # type: ignore[no-untyped-def]
    tmp_path: Path, scene, toy_cascade, lookback_surveys: int
) -> None:
    config = tmp_path / "site.yaml"
    config.write_text(f"rules: {{lookback_surveys: {lookback_surveys}}}\n")
    ws = open_workspace(tmp_path / "home")
    add_site(ws, "slope-b", "Slope B", config)
    whole = main_crack(290.0)
    delineated = [p for p in whole if p[0] <= 260.0]
    visible = [p for p in whole if p[0] >= 256.0]  # under the threshold in the first survey, dark in the second
    add_survey(ws, "slope-b", scene("f1.tif", [delineated, STABLE], faint=[visible]), D1)
    add_survey(ws, "slope-b", scene("f2.tif", [whole, STABLE], offset=OFFSETS[1], gain=0.9), D2)
    report = str(monitor(ws, "slope-b", processor=Processor(ws, cascade=toy_cascade), today=D2))
    with ws.store.transaction() as s:
        second = s.scalars(select(Survey).order_by(Survey.acquired_on)).all()[1]
        main = max(s.scalars(select(Crack).where(Crack.survey_id == second.id)), key=lambda c: c.length_m)
        growth = s.scalars(select(Growth).where(Growth.track_id == main.track_id)).one()
        extension, without = growth.metrics["extension"], growth.metrics["extension_without_lookback_m"]
        alerts = s.scalar(select(func.count()).select_from(Alert))
    assert 0.85 <= without <= 1.05, without  # the map alone: 90 px (plus the tip credit) "new"
    if lookback_surveys:
        assert "seen in earlier imagery" in report, report
        assert extension["delta_m"] < 0.01 and not extension["significant"], extension
        assert alerts == 0
    else:
        assert extension["delta_m"] == pytest.approx(without) and extension["significant"]
        assert alerts == 1


def test_monitoring_segments_every_tile_by_default(ws: WorkspaceDir) -> None:
    assert Processor(ws).detect_config.classifier is None


def test_growth_segmented_apart_beyond_the_tip_extends_that_crack(ws: WorkspaceDir, scene, toy_cascade) -> None:  # type: ignore[no-untyped-def]
    beyond = [p for p in main_crack(290.0) if p[0] >= 60.0 + 200.0 + 20.0]  # 20 px gap after the old tip
    gap = [p for p in main_crack(290.0) if 252.0 <= p[0] <= 284.0]  # visible there, too faint to delineate
    add_survey(ws, "slope-a", scene("s1.tif", [main_crack(200.0), STABLE]), D1)
    add_survey(ws, "slope-a", scene("s2.tif", [main_crack(200.0), beyond, STABLE], offset=OFFSETS[1], faint=[gap]), D2)
    monitor(ws, "slope-a", processor=Processor(ws, cascade=toy_cascade), today=D2)
    with ws.store.transaction() as s:
        first, second = s.scalars(select(Survey).order_by(Survey.acquired_on)).all()
        main_track = max(s.scalars(select(Crack).where(Crack.survey_id == first.id)), key=lambda c: c.length_m).track_id
        piece = s.scalars(select(Track).where(Track.first_survey_id == second.id)).one()
        assert piece.parent_track_id == main_track
        growth = s.scalars(select(Growth).where(Growth.track_id == main_track)).one()
        extension = growth.metrics["extension"]
        piece_length = s.scalars(select(Crack.length_m).where(Crack.track_id == piece.id)).one()
        assert extension["significant"] and extension["delta_m"] == pytest.approx(piece_length, abs=2 * GSD)
        assessment = s.scalars(select(Assessment).where(Assessment.survey_id == second.id)).one()
    assert not any("new crack" in r for r in assessment.detail["reasons"]), assessment.detail["reasons"]


def test_a_new_crack_just_ahead_of_a_tip_across_intact_ground_is_not_growth(
    ws: WorkspaceDir, scene, toy_cascade
) -> None:  # type: ignore[no-untyped-def]
    beyond = [p for p in main_crack(290.0) if p[0] >= 60.0 + 200.0 + 20.0]  # same geometry, no line across the gap
    add_survey(ws, "slope-a", scene("s1.tif", [main_crack(200.0), STABLE]), D1)
    add_survey(ws, "slope-a", scene("s2.tif", [main_crack(200.0), beyond, STABLE], offset=OFFSETS[1]), D2)
    monitor(ws, "slope-a", processor=Processor(ws, cascade=toy_cascade), today=D2)
    with ws.store.transaction() as s:
        first, second = s.scalars(select(Survey).order_by(Survey.acquired_on)).all()
        main_track = max(s.scalars(select(Crack).where(Crack.survey_id == first.id)), key=lambda c: c.length_m).track_id
        piece = s.scalars(select(Track).where(Track.first_survey_id == second.id)).one()
        assert piece.parent_track_id is None
        kinds = s.scalars(select(TrackEvent.kind).where(TrackEvent.track_id == piece.id)).all()
        assert kinds == ["new"]
        growth = s.scalars(select(Growth).where(Growth.track_id == main_track)).one()
        assert not growth.metrics["extension"]["significant"]
        assessment = s.scalars(select(Assessment).where(Assessment.survey_id == second.id)).one()
    assert any("new crack" in r for r in assessment.detail["reasons"]), assessment.detail["reasons"]
