"""The scenario runner on one real-imagery scenario (shipped models, CPU)."""

from pathlib import Path

import pytest

from geowarn.monitor.scenarios import format_report, run_suite
from geowarn.scenario.build import build_suite


@pytest.mark.slow
@pytest.mark.realdata
def test_scenario_run_scores_registration_growth_and_alerts(shared_data: Path, tmp_path: Path) -> None:
    build_suite(shared_data, tmp_path / "suite", seed=0, n_per_kind=1, kinds=["growing-fast"])
    result = run_suite(tmp_path / "suite", tmp_path / "work")
    (outcome,) = result["scenarios"]
    assert outcome["statuses"] == ["processed"] * 4
    assert outcome["expected_level"] == "red"
    assert len(outcome["registration_errors_px"]) == 3 and max(outcome["registration_errors_px"]) < 1.0
    assert outcome["growth_errors"] and outcome["levels"][0] == "green"
    summary = result["summary"]
    assert summary["scenarios"] == 1 and summary["registration_error_px"]["n"] == 3
    text = format_report(result)
    assert "| growing-fast-a |" in text and "alerts (yellow or above)" in text
