"""Sites and surveys: values checked when entered; dates in order (failed surveys too); retry, replace, remove."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from geowarn.errors import ConfigError, GeowarnError
from geowarn.store.schema import Assessment, Survey
from geowarn.workspace import WorkspaceDir, open_workspace
from geowarn.workspace.sites import (
    add_site,
    add_survey,
    list_surveys,
    remove_survey,
    replace_survey,
    retry_survey,
    site_info,
)
from tests.hardening import tally

D1, D2, D3 = date(2026, 5, 1), date(2026, 5, 8), date(2026, 5, 15)


@pytest.fixture
def ws(tmp_path: Path) -> WorkspaceDir:
    w = open_workspace(tmp_path / "home")
    add_site(w, "slope-s", "Slope S")
    return w


def refused(call: Callable[[], object], match: str) -> None:
    with pytest.raises(GeowarnError, match=match) as info:
        call()
    tally("bad inputs", clean="\n" not in str(info.value))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("slug", "name", "match"),
    [
        ("slope\n", None, r"site id 'slope\\n': not a slug"),
        ("Slope", None, "not a slug"),
        ("x" * 65, None, "not a slug"),
        ("ok", "North slope\nBcc: attacker@example.org", r"site name .*control character U\+000A"),
        ("ok", "a" * 201, "201 characters long"),
        ("ok", "  ", "empty"),
        ("ok", "evil\u202eeman", "U\\+202E"),
    ],
)
def test_site_ids_and_names_are_checked(tmp_path: Path, slug: str, name: str | None, match: str) -> None:
    ws = open_workspace(tmp_path / "home")
    refused(lambda: add_site(ws, slug, name), match)


@pytest.mark.parametrize(
    ("yaml_text", "match"),
    [
        (
            "rules:\n  zones:\n    - {name: top, wkt: 'POLYGON ((0 0, 1 0'}\n",
            r"key 'rules.zones.0.wkt': value 'POLYGON \(\(0 0, 1 0': not WKT",
        ),
        ("rules:\n  zones:\n    - {name: top, wkt: 'POINT (1 2)'}\n", "a Point, not a polygon"),
        ("rules:\n  zones:\n    - {name: top, wkt: 'POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))'}\n", "not a valid polygon"),
        (
            "channels:\n  mail: {type: email, host: h, from_addr: a@b.org}\n"
            'recipients:\n  - {name: x, channel: mail, address: "ops@example.org\\nBcc: all@example.org"}\n',
            "key 'recipients.0.address'.*control character",
        ),
        (
            "channels:\n  mail: {type: email, host: h, from_addr: a@b.org}\n"
            "recipients:\n  - {name: x, channel: mail, address: ops-at-example}\n",
            "address 'ops-at-example': not an email address",
        ),
        (
            "channels:\n  sms: {type: sms, style: twilio, account_sid_env: A, auth_token_env: B, "
            "from_number: '+4711'}\n"
            "recipients:\n  - {name: x, channel: sms, address: '12345'}\n",
            "not an E.164 phone number",
        ),
    ],
)
def test_zones_and_recipients_are_checked_when_the_site_is_added(tmp_path: Path, yaml_text: str, match: str) -> None:
    ws = open_workspace(tmp_path / "home")
    config = tmp_path / "site.yaml"
    config.write_text(yaml_text)
    refused(lambda: add_site(ws, "slope-z", config=config), match)


def test_a_date_in_the_future_or_equal_to_a_failed_surveys_is_refused_with_the_fix(
    ws: WorkspaceDir, make_geotiff: Callable[..., Path]
) -> None:
    refused(lambda: add_survey(ws, "slope-s", make_geotiff("f.tif"), date(2062, 5, 1)), "in the future")
    first = add_survey(ws, "slope-s", make_geotiff("a.tif", seed=1), D1)
    with ws.store.transaction() as s:
        survey = s.get_one(Survey, first.survey_id)
        survey.status, survey.error = "failed", "file moved away"
    refused(
        lambda: add_survey(ws, "slope-s", make_geotiff("b.tif", seed=2), D1),
        r"is the date of survey 1 \(2026-05-01, failed\); survey 1 failed \(file moved away\); "
        r"replace its file with 'geowarn survey replace slope-s 1 FILE'",
    )
    refused(lambda: add_survey(ws, "slope-s", make_geotiff("c.tif", seed=3), date(2026, 4, 1)), "not after")
    assert add_survey(ws, "slope-s", make_geotiff("d.tif", seed=4), D2).created


def test_retry_replace_and_remove_a_failed_survey(ws: WorkspaceDir, make_geotiff: Callable[..., Path]) -> None:
    first = add_survey(ws, "slope-s", make_geotiff("a.tif", seed=1), D1).survey_id
    second = add_survey(ws, "slope-s", make_geotiff("b.tif", seed=2), D2).survey_id
    with ws.store.transaction() as s:
        s.get_one(Survey, first).status = "processed"
        failed = s.get_one(Survey, second)
        failed.status, failed.error = "failed", "boom"
        s.add(
            Assessment(
                site_id=failed.site_id,
                survey_id=second,
                trigger_key="survey:2",
                level="nodata",
                candidate_level="nodata",
                detail={},
            )
        )
    assert "pending again" in retry_survey(ws, "slope-s", second).message
    assert [(s.status, s.error) for s in list_surveys(ws, "slope-s")][1] == ("pending", None)
    replacement = make_geotiff("b2.tif", seed=5)
    assert "now reads" in replace_survey(ws, "slope-s", second, replacement).message
    assert list_surveys(ws, "slope-s")[1].path == str(replacement.resolve())
    refused(lambda: replace_survey(ws, "slope-s", second, make_geotiff("a.tif", seed=1)), "already survey 1")
    refused(lambda: retry_survey(ws, "slope-s", first), "is processed: its cracks and growth")
    refused(lambda: remove_survey(ws, "slope-s", first), "cannot be removed")
    refused(lambda: remove_survey(ws, "slope-s", 99999999999999999999), "not an id")
    refused(lambda: remove_survey(ws, "slope-s", 77), "has no survey 77")
    assert "removed" in remove_survey(ws, "slope-s", second)
    with ws.store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Survey)) == 1
        kept = s.scalars(select(Assessment)).one()  # the "no data" record of the removed survey stays
        assert kept.survey_id is None
    assert add_survey(ws, "slope-s", make_geotiff("b3.tif", seed=6), D2).created  # its date is free again
    assert site_info(ws, "slope-s").surveys == 2


@pytest.mark.parametrize("same", ["file", "date"])
def test_concurrent_adds_store_one_survey_and_refuse_or_skip_the_other(
    ws: WorkspaceDir, make_geotiff: Callable[..., Path], same: str
) -> None:
    for attempt in range(3):
        day = date(2026, 5, 1 + attempt)
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def add(
            path: Path, day: date = day, barrier: threading.Barrier = barrier, outcomes: list[object] = outcomes
        ) -> None:
            other = open_workspace(ws.home)  # its own engine and connections, like another process
            barrier.wait()
            try:
                outcomes.append(add_survey(other, "slope-s", path, day))
            except Exception as exc:
                outcomes.append(exc)
            finally:
                other.close()

        if same == "file":
            paths = [make_geotiff(f"s{attempt}.tif", seed=10 + attempt)] * 2
        else:
            paths = [make_geotiff(f"s{attempt}-{i}.tif", seed=20 + 2 * attempt + i) for i in (0, 1)]
        threads = [threading.Thread(target=add, args=(p,)) for p in paths]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        created = [o for o in outcomes if getattr(o, "created", False)]
        others = [o for o in outcomes if o not in created]
        clean = len(created) == 1 and all(
            (isinstance(o, ConfigError) and "is the date of survey" in str(o)) or getattr(o, "created", None) is False
            for o in others
        )
        tally("crash trials", clean=clean)
        assert clean, outcomes
    with ws.store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Survey)) == 3
