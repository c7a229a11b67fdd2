"""The scenario runner on one real-imagery scenario (shipped models, CPU)."""

from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from shapely.geometry import LineString, MultiLineString

from geowarn.harness.scenario.build import build_suite
from geowarn.harness.scenario.run import TruthNear, format_report, run_suite


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


def test_pieces_along_a_true_crack_are_recognised_in_the_site_frame() -> None:
    near = np.zeros((20, 40), bool)
    near[9:12, 5:35] = True  # a true crack along row 10, widened
    transform = Affine(0.01, 0, 100.0, 0, -0.01, 200.0)
    truth = TruthNear(near, transform, site_to_survey=(0.05, -0.02))
    # The site frame is 5 cm left of and 2 cm above this survey's frame: row 10 is y = 199.895 + 0.02.
    on = LineString([(100.05, 199.915), (100.25, 199.915)])
    assert truth.share_along(on, 0.01) == 1.0
    assert truth.share_along(MultiLineString([on, LineString([(100.05, 199.8), (100.25, 199.8)])]), 0.01) == 0.5
    assert truth.share_along(LineString([(101.0, 199.915), (101.2, 199.915)]), 0.01) == 0.0  # off the raster
