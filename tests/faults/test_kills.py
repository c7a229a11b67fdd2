"""Kill ``monitor``, ``outbox flush`` and ``survey add`` at their failpoints; run flushers at once.

Each trial runs the real step in a subprocess (``tests/faults/driver.py``) with a failpoint armed,
checks that it died there, runs the step again without it, and compares the store and what was
delivered with a clean run: the same rows, every delivery sent, each alert file written once, and
each webhook request carrying a distinct idempotency key except the resends that a kill between
sending and recording makes (they carry the row's own key, so receivers recognise them).

``pytest -m faults -p no:cacheprovider tests/faults`` prints the counts at the end.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from geowarn.alerts.issue import AlertInput, issue_alert
from geowarn.assess.record import AssessmentInput, record_assessment
from geowarn.faults import FAILPOINTS
from geowarn.store.queries import get_site
from geowarn.store.schema import Alert, Assessment, Crack, Delivery, Growth, Run, Survey, Track
from geowarn.workspace import open_workspace
from geowarn.workspace.sites import add_site, add_survey
from tests.alerts.conftest import LoopbackServer, loopback_server
from tests.hardening import note, tally
from tests.pipeline.conftest import write_scene

pytestmark = [pytest.mark.slow, pytest.mark.faults]

ROOT = Path(__file__).resolve().parents[2]
D1, D2 = date(2026, 5, 1), date(2026, 5, 8)


def crack(length_px: float) -> list[tuple[float, float]]:
    return [(60.0 + x, 150.0 + 12.0 * math.sin(x / 90.0)) for x in range(0, int(length_px) + 1, 4)]


STABLE = [(120.0, 380.0), (300.0, 420.0)]


def run_step(*args: str, failpoint: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT)}
    env.pop("GEOWARN_FAILPOINTS", None)
    if failpoint:
        env["GEOWARN_FAILPOINTS"] = failpoint
    return subprocess.run(
        [sys.executable, "-m", "tests.faults.driver", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scenes")
    return {
        "a1": write_scene(folder / "a1.tif", [crack(200), STABLE]),
        "a2": write_scene(folder / "a2.tif", [crack(250), STABLE], offset=(0.12, -0.08), gain=0.9),
        "b1": write_scene(folder / "b1.tif", [crack(150)], seed=9),
    }


def site_yaml(folder: Path, hook: str) -> Path:
    path = folder / "site.yaml"
    path.write_text(
        f"channels:\n  hook: {{type: webhook, url: '{hook}', timeout_s: 10}}\n"
        "recipients:\n"
        "  - {name: ops room, channel: hook, address: ops}\n"
        "  - {name: desk, channel: outbox-files, address: desk}\n"
    )
    return path


def monitor_workspace(folder: Path, scenes: dict[str, Path], hook: str) -> Path:
    """Two sites: alpha with two surveys of a growing crack, bravo with one survey damaged after it was added."""
    ws = open_workspace(folder / "home")
    config = site_yaml(folder, hook)
    add_site(ws, "alpha", config=config)
    add_site(ws, "bravo", config=config)
    add_survey(ws, "alpha", scenes["a1"], D1)
    add_survey(ws, "alpha", scenes["a2"], D2)
    damaged = folder / "b1.tif"
    shutil.copy(scenes["b1"], damaged)
    add_survey(ws, "bravo", damaged, D1)
    damaged.write_bytes(damaged.read_bytes()[:3000])
    ws.close()
    return folder / "home"


def flush_workspace(folder: Path, hook: str, alerts: int = 3) -> Path:
    """One site with ``alerts`` alerts stored, two deliveries each, nothing sent."""
    ws = open_workspace(folder / "home")
    add_site(ws, "alpha", config=site_yaml(folder, hook))
    for level in ("yellow", "orange", "red", "nodata", "green")[:alerts]:
        with ws.store.transaction() as session:
            site = get_site(session, "alpha")
            row, before = record_assessment(session, site, AssessmentInput(level, level, {}, f"t-{level}", None))
            data = AlertInput([f"test: {level}"], None, None, [], 0, "test")
            issue_alert(session, site, row, before, data, ws.site_config(site), ws.home / "evidence")
    ws.close()
    return folder / "home"


def state(home: Path, server: LoopbackServer, trial: str) -> dict[str, Any]:
    """What the store holds and what was delivered, in comparable form."""
    ws = open_workspace(home)
    try:
        with ws.store.transaction() as s:
            tables = (Run, Crack, Track, Growth)
            count = {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in tables}
            out: dict[str, Any] = {
                **count,
                "surveys": sorted(s.scalars(select(Survey.status))),
                "assessments": sorted(s.scalars(select(Assessment.level))),
                "alerts": sorted(s.scalars(select(Alert.level))),
                "deliveries": sorted(s.scalars(select(Delivery.status))),
                "leases": s.scalar(select(func.count()).where(Delivery.claimed_by.is_not(None))),
            }
    finally:
        ws.close()
    keys = [r.headers.get("Idempotency-Key") for r in server.requests if r.path == f"/{trial}"]
    out["alert files"] = len(list((home / "outbox").glob("*.eml")))
    out["webhook keys"] = len(set(keys))
    out["resends"] = len(keys) - len(set(keys))
    return out


def compare(got: dict[str, Any], clean: dict[str, Any], resend_allowed: bool) -> bool:
    """Equal to the clean run; a resend (same key) is allowed only after a kill between send and record."""
    same = {k: v for k, v in got.items() if k != "resends"} == {k: v for k, v in clean.items() if k != "resends"}
    ok = same and (got["resends"] == 0 or (resend_allowed and got["resends"] <= 1))
    if got["resends"]:
        note("resends after a kill between send and record, each with its row's idempotency key", got["resends"])
    return ok


@pytest.fixture(scope="module")
def monitor_clean(
    tmp_path_factory: pytest.TempPathFactory, scenes: dict[str, Path], module_server: LoopbackServer
) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("clean")
    home = monitor_workspace(folder, scenes, f"{module_server.url}/clean")
    done = run_step("monitor", str(home), str(D2))
    assert done.returncode == 0, done.stderr[-2000:]
    result = state(home, module_server, "clean")
    assert result["alerts"] and result["deliveries"] == ["sent"] * len(result["deliveries"])
    assert result["surveys"] == ["failed", "processed", "processed"] and result["resends"] == 0
    return result


@pytest.fixture(scope="module")
def module_server() -> Iterator[LoopbackServer]:
    """The loopback webhook receiver of the whole module (each trial posts to its own path)."""
    with loopback_server() as server:
        yield server


MONITOR_TRIALS = [
    "monitor.before-store@1",
    "monitor.before-store@2",
    "monitor.before-commit@1",
    "monitor.before-commit@2",
    "monitor.fail-before-commit@1",
    "monitor.before-deliver@1",
    "outbox.after-send@1",  # the rerun's own flush takes the dead process's lease over at once
]


#: Trials run two at a time (each is two subprocesses one after the other).
PARALLEL = 2


def monitor_trial(folder: Path, scenes: dict[str, Path], server: LoopbackServer, point: str) -> dict[str, Any]:
    trial = point.replace("@", "-")
    home = monitor_workspace(folder / trial, scenes, f"{server.url}/{trial}")
    killed = run_step("monitor", str(home), str(D2), failpoint=point)
    assert killed.returncode == 137 and f"failpoint {point} reached" in killed.stderr, killed.stderr[-2000:]
    again = run_step("monitor", str(home), str(D2))
    assert again.returncode == 0, again.stderr[-2000:]
    return state(home, server, trial)


@pytest.fixture(scope="module")
def monitor_trials(
    tmp_path_factory: pytest.TempPathFactory, scenes: dict[str, Path], module_server: LoopbackServer
) -> dict[str, dict[str, Any] | BaseException]:
    folder = tmp_path_factory.mktemp("monitor-trials")
    return run_all(lambda point: monitor_trial(folder, scenes, module_server, point), MONITOR_TRIALS)


def run_all(trial: Any, points: list[str]) -> dict[str, dict[str, Any] | BaseException]:
    """``trial(point)`` for every point, :data:`PARALLEL` at a time; an exception is kept as the result."""

    def one(point: str) -> dict[str, Any] | BaseException:
        try:
            result: dict[str, Any] = trial(point)
        except BaseException as exc:
            return exc
        return result

    with ThreadPoolExecutor(PARALLEL) as pool:
        return dict(zip(points, pool.map(one, points), strict=True))


@pytest.mark.parametrize("point", MONITOR_TRIALS)
def test_monitor_killed_at_a_failpoint_recovers_to_the_clean_run(
    monitor_trials: dict[str, dict[str, Any] | BaseException], monitor_clean: dict[str, Any], point: str
) -> None:
    got = monitor_trials[point]
    if isinstance(got, BaseException):
        raise got
    ok = compare(got, monitor_clean, resend_allowed=point.startswith("outbox.after-send"))
    tally("crash trials", clean=ok)
    tally("delivery faults", clean=ok)
    assert ok, (got, monitor_clean)


FLUSH_TRIALS = [f"outbox.{p}@{n}" for p in ("after-claim", "after-send", "after-record") for n in (1, 6)]
FLUSH_TRIALS += [f"outbox.{p}@3 then --all" for p in ("after-claim", "after-send", "after-record")]


@pytest.fixture(scope="module")
def flush_clean(tmp_path_factory: pytest.TempPathFactory, module_server: LoopbackServer) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("flush-clean")
    home = flush_workspace(folder, f"{module_server.url}/flush-clean")
    assert run_step("flush", str(home)).returncode == 0
    result = state(home, module_server, "flush-clean")
    assert result["deliveries"] == ["sent"] * 6 and result["alert files"] == 3 and result["webhook keys"] == 3
    return result


def flush_trial(folder: Path, server: LoopbackServer, point: str) -> dict[str, Any]:
    """Kill ``flush`` at the failpoint, then flush again at once (the lease holder is gone)."""
    failpoint, _, recover = point.partition(" then ")
    trial = "flush-" + point.replace("@", "-").replace(" then --", "-")
    home = flush_workspace(folder / trial, f"{server.url}/{trial}")
    killed = run_step("flush", str(home), failpoint=failpoint)
    assert killed.returncode == 137, killed.stderr[-2000:]
    again = run_step("flush", str(home), *recover.split())
    assert again.returncode == 0, again.stderr[-2000:]
    return state(home, server, trial)


@pytest.fixture(scope="module")
def flush_trials(
    tmp_path_factory: pytest.TempPathFactory, module_server: LoopbackServer
) -> dict[str, dict[str, Any] | BaseException]:
    folder = tmp_path_factory.mktemp("flush-trials")
    return run_all(lambda point: flush_trial(folder, module_server, point), FLUSH_TRIALS)


@pytest.mark.parametrize("point", FLUSH_TRIALS)
def test_flush_killed_at_a_failpoint_sends_each_delivery_once(
    flush_trials: dict[str, dict[str, Any] | BaseException], flush_clean: dict[str, Any], point: str
) -> None:
    got = flush_trials[point]
    if isinstance(got, BaseException):
        raise got
    ok = compare(got, flush_clean, resend_allowed=point.startswith("outbox.after-send"))
    tally("crash trials", clean=ok)
    tally("delivery faults", clean=ok)
    assert ok, (got, flush_clean)


@pytest.mark.parametrize("point", [p for p in FAILPOINTS if p.startswith("survey-add.")])
def test_survey_add_killed_at_a_failpoint_stores_it_once_when_run_again(
    tmp_path: Path, scenes: dict[str, Path], point: str
) -> None:
    ws = open_workspace(tmp_path / "home")
    add_site(ws, "alpha")
    ws.close()
    args = ("add-survey", str(tmp_path / "home"), "alpha", str(scenes["a1"]), str(D1))
    killed = run_step(*args, failpoint=point)
    assert killed.returncode == 137, killed.stderr[-2000:]
    again = run_step(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert ("already survey 1" in again.stdout) == (point == "survey-add.after-commit")
    ws = open_workspace(tmp_path / "home")
    with ws.store.transaction() as s:
        surveys = s.scalars(select(Survey)).all()
    ws.close()
    ok = len(surveys) == 1 and surveys[0].status == "pending"
    tally("crash trials", clean=ok)
    assert ok


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_flushers_send_each_delivery_once(
    tmp_path: Path, module_server: LoopbackServer, round_: int
) -> None:
    trial = f"concurrent-{round_}"
    home = flush_workspace(tmp_path, f"{module_server.url}/{trial}")
    modes = [["flush"], ["flush", "--all"], ["flush", "--all"], ["flush"]]
    module_server.delay_s = 0.2  # slow receiver: the flushers overlap
    try:
        with ThreadPoolExecutor(len(modes)) as pool:
            done = list(pool.map(lambda m: run_step(m[0], str(home), *m[1:]), modes))
    finally:
        module_server.delay_s = 0.0
    assert all(d.returncode == 0 for d in done), [d.stderr[-500:] for d in done]
    got = state(home, module_server, trial)
    sent = sum(int(d.stdout.split(" sent")[0].rsplit(" ", 1)[-1]) for d in done)
    ok = got["deliveries"] == ["sent"] * 6 and got["alert files"] == 3 and got["webhook keys"] == 3
    ok = ok and got["resends"] == 0 and sent == 6 and got["leases"] == 0
    tally("delivery faults", clean=ok)
    assert ok, (got, [d.stdout for d in done])


def test_every_failpoint_is_listed_and_met(tmp_path: Path) -> None:
    import re

    used = set()
    for path in (ROOT / "geowarn").rglob("*.py"):
        used |= set(re.findall(r'failpoint\("([^"]+)"\)', path.read_text()))
    assert used == set(FAILPOINTS)
    assert {p.split("@")[0] for p in MONITOR_TRIALS + FLUSH_TRIALS} | {
        p
        for p in FAILPOINTS
        if p.startswith(("survey-add.", "scale."))  # scale.*: tests/scale/test_cluster.py
    } == set(FAILPOINTS)
