"""Guard: the shipped models on crack-free natural ground (held-out natural test frames, australia.tif).

Every pixel flagged here is a false alarm. The target is at most 0.1 % of pixels and 20 m of
false crack per hectare on both paths; the shipped models do not meet it yet (the target test is
a strict xfail: it fails once a model meets it, so that the guard is then tightened to the
target). GUARD holds the shipped models' level plus a margin, so that a model that flags more
than today's fails here (models/MODEL_CARD.md has the full figures of ``geowarn eval defaults``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from geowarn.evaluation.natural import natural_false_alarms, path_configs
from geowarn.pipeline.detect import detect

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

TARGET = {"flagged_fraction": 0.001, "length_m_per_ha": 20.0}
#: Regression bounds: the shipped models' figures on these samples (pixels of reported cracks,
#: after detect's shape filters), with a margin. Now: 0.144 % / 77 m/ha (detect) and 0.150 % /
#: 83 m/ha (monitor) on the first 6 test crops; 4.50 % / 2,180 m/ha on australia.tif (both paths).
GUARD = {
    "natural": {"flagged_fraction": 0.0020, "length_m_per_ha": 110.0},
    "australia": {"flagged_fraction": 0.055, "length_m_per_ha": 2600.0},
}


@pytest.mark.parametrize("path", ["detect", "monitor"])
def test_natural_test_frames_stay_quiet(shared_data: Path, path: str) -> None:
    row = natural_false_alarms(shared_data, limit=6)[path]
    for key, bound in GUARD["natural"].items():
        assert row[key] <= bound, f"{path} path flags {key}={row[key]:.5g} on natural test frames (bound {bound})"


@pytest.mark.xfail(strict=True, reason="target not met yet: the shipped models flag 0.14-0.15 % and 77-83 m/ha here")
def test_natural_test_frames_meet_the_target(shared_data: Path) -> None:
    report = natural_false_alarms(shared_data, limit=6)
    for path in ("detect", "monitor"):
        for key, bound in TARGET.items():
            assert report[path][key] <= bound, f"{path} path: {key}={report[path][key]:.5g} > target {bound}"


@pytest.mark.parametrize("path", ["detect", "monitor"])
def test_scrubland_orthomosaic_stays_quiet(shared_data: Path, path: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = detect(shared_data / "geotiff" / "australia.tif", Path(tmp), path_configs()[path], quiet=True)
    gsd = result.manifest["input"]["raster"]["gsd_m"]
    hectares = result.counts["valid_pixels"] * gsd * gsd / 1e4
    row = {
        "flagged_fraction": result.counts["crack_pixels"] / result.counts["valid_pixels"],
        "length_m_per_ha": result.total_length_m / hectares,
    }
    for key, bound in GUARD["australia"].items():
        assert row[key] <= bound, f"{path} path flags {key}={row[key]:.5g} on australia.tif (bound {bound})"
