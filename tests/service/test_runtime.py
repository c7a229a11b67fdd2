"""The service end to end: surveys copied into a drop folder become surveys, alerts and emails."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from geowarn.service import results
from geowarn.service.lock import LockHeldError
from geowarn.service.programme import load_programmes
from geowarn.service.runtime import Service
from geowarn.service.serve import holding_lock, run_once
from geowarn.store.schema import Alert, Crack, Delivery, IngestedFile, Survey
from tests.conftest import make_toy_cascade
from tests.service.conftest import Clock, mail_site_yaml, survey_dates, write_surveys

pytestmark = pytest.mark.usefixtures("db_backend")

DATE_PATTERN = r"'(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})'"


def service_for(folder: Path, home: Path, clock: Clock) -> Service:
    return Service(load_programmes(folder), home=home, cascade_factory=lambda _: make_toy_cascade(), clock=clock)


def counts(service: Service) -> dict[str, int]:
    with service.store.transaction() as s:
        return {
            t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0
            for t in (Survey, Crack, Alert, Delivery)
        }


@pytest.mark.slow
def test_surveys_dropped_one_by_one_become_alerts_and_emails(
    tmp_path: Path, programme_dir: Any, smtp_inbox: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="geowarn")  # as the service logs: every info line is built
    inbox, port = smtp_inbox
    folder = programme_dir(mail_site_yaml(port), settle_seconds=5, scan_every_seconds=10, date_pattern=DATE_PATTERN)
    sources = write_surveys(tmp_path / "flights", survey_dates(clock.now.date()))
    service = service_for(folder, tmp_path / "home", clock)
    with holding_lock(service):
        assert "ingest:slope-a: 0 files offered" in str(run_once(service))
        for number, source in enumerate(sources, start=1):
            shutil.copy(source, tmp_path / "drop" / source.name)
            clock.advance(11)
            first = run_once(service)  # just landed: not read before it has settled
            assert dict(first.ran)["ingest:slope-a"].startswith(f"{number} files offered, 0 surveys added"), first
            clock.advance(11)
            second = dict(run_once(service).ran)
            assert f"{number} files offered, 1 surveys added" in second["ingest:slope-a"], second
            assert counts(service)["surveys"] == number
        assert run_once(service).ran == []  # nothing due until the next interval
        clock.advance(11)
        assert "0 surveys added" in dict(run_once(service).ran)["ingest:slope-a"]
    assert sum(r.getMessage() == "survey added" for r in caplog.records) == len(sources)
    with service.store.transaction() as s:
        assert [x.status for x in s.scalars(select(Survey).order_by(Survey.id))] == ["processed"] * 3
        assert [(a.previous_level, a.level) for a in s.scalars(select(Alert).order_by(Alert.id))] == [
            ("green", "yellow"),
            ("yellow", "red"),
        ]
        assert [d.status for d in s.scalars(select(Delivery))] == ["sent", "sent"]
        assert [f.status for f in s.scalars(select(IngestedFile))] == ["ingested"] * 3
    assert len(inbox.messages) == 2 and b"RED" in inbox.messages[1]
    last = results.last_runs(service.store)
    assert last["ingest:slope-a"].status == "ok" and last["outbox"].status == "ok"
    service.close()


@pytest.mark.slow
def test_a_bad_survey_is_refused_and_another_site_goes_on(tmp_path: Path, clock: Clock) -> None:
    folder = tmp_path / "pipelines"
    folder.mkdir()
    for site in ("slope-a", "slope-b"):
        (tmp_path / site).mkdir()
    (folder / "sites.yaml").write_text(
        f"sites:\n"
        f"  - {{site: slope-a, drop_folder: {tmp_path / 'slope-a'}, settle_seconds: 0, date_pattern: {DATE_PATTERN}}}\n"
        f"  - {{site: slope-b, drop_folder: {tmp_path / 'slope-b'}, settle_seconds: 0, date_pattern: {DATE_PATTERN}}}\n"
    )
    good = write_surveys(tmp_path / "flights", survey_dates(clock.now.date()))[0]
    shutil.copy(good, tmp_path / "slope-b" / good.name)
    (tmp_path / "slope-a" / good.name).write_bytes(good.read_bytes()[:3000])  # truncated, never completed
    (tmp_path / "slope-a" / "flight-undated.tif").write_bytes(good.read_bytes())
    service = service_for(folder, tmp_path / "home", clock)
    clock.advance(1)
    with holding_lock(service):
        ran = dict(run_once(service).ran)
    assert ran["ingest:slope-a"].startswith("2 files offered, 0 surveys added, 2 refused"), ran
    assert ran["ingest:slope-b"].startswith("1 files offered, 1 surveys added"), ran
    with service.store.transaction() as s:
        refused = {
            Path(f.path).name: f.error or ""
            for f in s.scalars(select(IngestedFile).where(IngestedFile.status == "refused"))
        }
    assert "no date in the name matching date_pattern" in refused["flight-undated.tif"]
    assert "cannot be read" in refused[good.name] and "copy the file again" in refused[good.name]
    service.close()


def test_two_services_on_one_database_are_refused(tmp_path: Path, programme_dir: Any, clock: Clock) -> None:
    folder = programme_dir()
    first = service_for(folder, tmp_path / "home", clock)
    second = service_for(folder, tmp_path / "home", clock)
    second.owner = "elsewhere+1:1:1"
    with holding_lock(first), pytest.raises(LockHeldError), holding_lock(second):
        pass
    first.close()
    second.close()
