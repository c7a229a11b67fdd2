"""Which files of a drop folder are offered, when they count as complete, and claims on them."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from geowarn.service import dropfolder
from geowarn.service.programme import ODM_ORTHOPHOTO, SiteProgramme
from geowarn.store.schema import IngestedFile
from geowarn.workspace import open_workspace
from geowarn.workspace.sites import add_site

pytestmark = pytest.mark.usefixtures("db_backend")


def programme(drop: Path, **keys: object) -> SiteProgramme:
    return SiteProgramme.model_validate({"site": "slope-a", "drop_folder": drop, "settle_seconds": 30, **keys})


def test_hidden_temporary_and_unmatched_files_are_not_offered(tmp_path: Path) -> None:
    for name in ("a.tif", ".b.tif", "c.tif.part", "d.tmp", "e.txt", "f.TIF", "~g.tif"):
        (tmp_path / name).write_bytes(b"x")
    assert [c.name for c in dropfolder.list_candidates(programme(tmp_path))] == ["a.tif", "f.TIF"]


def test_odm_projects_offer_their_orthophoto_once_it_exists(tmp_path: Path) -> None:
    (tmp_path / "flight-2026-05-01" / "odm_orthophoto").mkdir(parents=True)
    (tmp_path / "flight-2026-05-08").mkdir()  # still processing: no orthophoto yet
    (tmp_path / "flight-2026-05-01" / ODM_ORTHOPHOTO).write_bytes(b"x")
    found = dropfolder.list_candidates(programme(tmp_path, layout="odm"))
    assert [(c.name, c.path.name) for c in found] == [("flight-2026-05-01", "odm_orthophoto.tif")]


def test_a_missing_drop_folder_says_which_site_and_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"drop folder .*nope of site slope-a: .*create it or fix drop_folder"):
        dropfolder.list_candidates(programme(tmp_path / "nope"))


def test_a_file_being_written_is_not_ready_until_it_settles(tmp_path: Path) -> None:
    ws = open_workspace(tmp_path / "home")
    add_site(ws, "slope-a")
    site_id = 1
    drop = tmp_path / "drop"
    drop.mkdir()
    prog = programme(drop)
    target = drop / "survey.tif"
    target.write_bytes(b"x" * 1000)  # half copied
    now = datetime.now(UTC)

    def ready(at: datetime) -> list[int]:
        offered = dropfolder.list_candidates(prog)
        dropfolder.observe(ws.store, site_id, offered, at, prog)
        return dropfolder.ready_files(ws.store, site_id, offered, at, prog.settle_seconds)

    assert ready(now) == []  # just seen
    with target.open("ab") as f:  # the copy goes on
        f.write(b"y" * 1000)
    assert ready(now + timedelta(seconds=31)) == []  # it changed since: settling starts again
    assert ready(now + timedelta(seconds=45)) == []
    (file_id,) = ready(now + timedelta(seconds=62))  # unchanged for 31 s
    row = dropfolder.claim(ws.store, file_id, "host:1:1", now)
    assert row is not None and row.status == "ingesting" and row.attempts == 1
    assert dropfolder.claim(ws.store, file_id, "other:2:2", now) is None  # leased to the first
    assert ready(now + timedelta(seconds=63)) == []  # claimed: not offered to anyone else
    later = now + timedelta(seconds=dropfolder.CLAIM_SECONDS + 1)
    assert ready(later) == [file_id]  # the claim lapsed (its holder died on another machine)
    dropfolder.finish(ws.store, file_id, "host:1:1", now=later, error="bad", fingerprint=prog.fingerprint())
    assert ready(later) == []  # refused, until it changes or the programme does
    target.write_bytes(b"z" * 3000)
    assert ready(later) == []
    assert ready(later + timedelta(seconds=31)) == [file_id]
    with ws.store.transaction() as s:
        assert s.get_one(IngestedFile, file_id).status == "waiting"
    ws.close()


def test_a_refused_file_is_tried_again_when_its_programme_changes(tmp_path: Path) -> None:
    ws = open_workspace(tmp_path / "home")
    add_site(ws, "slope-a")
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "a.tif").write_bytes(b"x")
    prog = programme(tmp_path / "drop", settle_seconds=0)
    at = datetime.now(UTC) + timedelta(seconds=1)
    offered = dropfolder.list_candidates(prog)
    dropfolder.observe(ws.store, 1, offered, at, prog)
    (file_id,) = dropfolder.ready_files(ws.store, 1, offered, at, 0)
    assert dropfolder.claim(ws.store, file_id, "h:1:1", at) is not None
    dropfolder.finish(ws.store, file_id, "h:1:1", now=at, error="no date", fingerprint=prog.fingerprint())
    fixed = programme(tmp_path / "drop", settle_seconds=0, date_pattern=r"(?P<year>\d{4})(?P<month>\d\d)(?P<day>\d\d)")
    dropfolder.observe(ws.store, 1, offered, at, fixed)
    assert dropfolder.ready_files(ws.store, 1, offered, at, 0) == [file_id]
    ws.close()
