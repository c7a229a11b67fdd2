"""Kill -9 the running service in the middle of an ingest, restart it: nothing lost, nothing duplicated.

Also the real scheduler in a thread: a file copied into the drop folder of a running service is
picked up, and SIGTERM-like stops wait for the job in progress.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from geowarn.service.programme import load_programmes
from geowarn.service.runtime import Service
from geowarn.service.serve import holding_lock, serve_forever
from geowarn.store.schema import Alert, Crack, Delivery, IngestedFile, Survey
from tests.conftest import make_toy_cascade
from tests.service.conftest import mail_site_yaml, survey_dates, write_surveys
from tests.service.test_runtime import DATE_PATTERN

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("db_backend")]

ROOT = Path(__file__).resolve().parents[2]


def start(folder: Path, home: Path, log: Path, *extra: str, failpoints: str = "") -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GEOWARN_FAILPOINTS": failpoints}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.service.driver", str(folder), str(home), *extra],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def tally(service: Service) -> dict[str, Any]:
    with service.store.transaction() as s:
        count = {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in (Survey, Crack, Alert)}
        count["processed"] = s.scalar(select(func.count()).where(Survey.status == "processed"))
        count["sent"] = s.scalar(select(func.count()).where(Delivery.status == "sent"))
        count["deliveries"] = s.scalar(select(func.count()).select_from(Delivery))
        count["files"] = sorted(s.scalars(select(IngestedFile.status)))
        return count


DONE = {
    "surveys": 3,
    "cracks": 6,
    "alerts": 2,
    "processed": 3,
    "sent": 2,
    "deliveries": 2,
    "files": ["ingested"] * 3,
}


def test_killed_mid_ingest_then_restarted_loses_and_duplicates_nothing(
    tmp_path: Path, programme_dir: Any, smtp_inbox: Any
) -> None:
    inbox, port = smtp_inbox
    folder = programme_dir(mail_site_yaml(port), settle_seconds=0, scan_every_seconds=1, date_pattern=DATE_PATTERN)
    home, log = tmp_path / "home", tmp_path / "service.log"
    for source in write_surveys(tmp_path / "flights", survey_dates()):
        shutil.copy(source, tmp_path / "drop" / source.name)
    # killed after storing the second survey, before the ledger knows (failpoints exit 137 like kill -9)
    assert start(folder, home, log, failpoints="survey-add.after-commit@2").wait(300) == 137
    # killed while storing a survey's cracks and alert
    assert start(folder, home, log, failpoints="monitor.before-commit").wait(300) == 137
    # killed by a real SIGKILL while ingesting
    proc = start(folder, home, log)
    wait_for(lambda: b"ingesting" in log.read_bytes().rsplit(b"service started", 1)[-1], 120, "an ingest")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(60) == -signal.SIGKILL
    began = time.monotonic()
    service = Service(load_programmes(folder), home=home, cascade_factory=lambda _: make_toy_cascade())
    for _ in range(4):
        if tally(service) == DONE:
            break
        time.sleep(1.1)  # the next scan is due
        done = subprocess.run(
            [sys.executable, "-m", "tests.service.driver", str(folder), str(home), "--once"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "GEOWARN_FAILPOINTS": ""},
            capture_output=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    recovery = time.monotonic() - began
    assert tally(service) == DONE, log.read_text()
    ids = [message_from_bytes(m)["Message-ID"] for m in inbox.messages]
    assert len(ids) == 2 and len(set(ids)) == 2, ids
    print(f"restart recovery: {recovery:.1f} s")
    service.close()


def test_a_running_service_ingests_a_file_copied_into_its_drop_folder(
    tmp_path: Path, programme_dir: Any, smtp_inbox: Any
) -> None:
    inbox, port = smtp_inbox
    folder = programme_dir(mail_site_yaml(port), settle_seconds=1, scan_every_seconds=1, date_pattern=DATE_PATTERN)
    sources = write_surveys(tmp_path / "flights", survey_dates())
    service = Service(load_programmes(folder), home=tmp_path / "home", cascade_factory=lambda _: make_toy_cascade())
    with holding_lock(service):
        runner = threading.Thread(target=serve_forever, args=(service,))
        runner.start()
        try:
            latencies = []
            for number, source in enumerate(sources, start=1):
                landed = time.monotonic()
                shutil.copy(source, tmp_path / "drop" / source.name)
                wait_for(lambda n=number: tally(service)["processed"] == n, 120, f"survey {number}")
                latencies.append(time.monotonic() - landed)
            wait_for(lambda: len(inbox.messages) == 2, 60, "two emails")
        finally:
            service.stop_event.set()
            runner.join(120)
    assert not runner.is_alive()
    assert tally(service) == DONE
    print("ingest latency after a file lands (s): " + ", ".join(f"{x:.1f}" for x in latencies))
    service.close()
