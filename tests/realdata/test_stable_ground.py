"""A crack-free real site must stay green, survey after survey (shipped models, CPU).

Two stable-ground scenarios of ``geowarn scenario``: a held-out natural drone frame (bare soil,
tracks, ruts, 2 cm) and the scrubland orthomosaic (hard shrub shadows, 1.8 cm), each surveyed
four times with a georeferencing error of up to 0.5 m, a light change, tree shadows moving with
the sun and JPEG recompression. Nothing on the ground changes: every survey must be processed
and green and no alert may be issued. README "Monitoring on stable ground" has the larger suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geowarn.harness.scenario.build import build_suite
from geowarn.harness.scenario.run import run_suite

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_a_crack_free_site_stays_green_and_silent(shared_data: Path, tmp_path: Path) -> None:
    build_suite(shared_data, tmp_path / "suite", seed=0, n_per_kind=1, kinds=["stable-ground", "stable-scrub"])
    result = run_suite(tmp_path / "suite", tmp_path / "work")
    for outcome in result["scenarios"]:
        assert outcome["statuses"] == ["processed"] * 4, outcome["name"]
        assert outcome["levels"] == ["green"] * 4, (outcome["name"], outcome["levels"])
        assert outcome["alerts"] == 0, outcome["name"]
    assert result["summary"]["stable_sites_without_alert"] == "2/2"
