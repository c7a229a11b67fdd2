"""Multi-survey monitoring scenarios with known truth, built from held-out real crack images.

:func:`build_suite` writes scenario folders (survey GeoTIFFs, truth masks and
``scenario.json``) and :func:`load_scenario` reads them back. :func:`truncate_crack`
and :func:`crack_path_order` shorten a real crack along its skeleton and erase the rest.
"""

from __future__ import annotations

from geowarn.harness.scenario.build import ALERT_THRESHOLDS_MM_DAY, GROWTH_RATES_MM_DAY, KINDS, build_suite
from geowarn.harness.scenario.schema import (
    GrowthEntry,
    Scenario,
    Suite,
    SurveyRecord,
    TruthCrack,
    load_scenario,
    load_suite,
)
from geowarn.harness.scenario.truncate import (
    CrackEraser,
    CrackPath,
    ScenarioInputError,
    crack_path_order,
    truncate_crack,
)

__all__ = [
    "ALERT_THRESHOLDS_MM_DAY",
    "GROWTH_RATES_MM_DAY",
    "KINDS",
    "CrackEraser",
    "CrackPath",
    "GrowthEntry",
    "Scenario",
    "ScenarioInputError",
    "Suite",
    "SurveyRecord",
    "TruthCrack",
    "build_suite",
    "crack_path_order",
    "load_scenario",
    "load_suite",
    "truncate_crack",
]
