from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from geowarn.cli import main


@pytest.mark.slow
def test_demo_command_runs_end_to_end(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "vs truth" in text and "crack(s)" in text
    for name in ("crack_prob.tif", "crack_mask.tif", "cracks.gpkg", "run.json"):
        assert (out / "detect" / name).exists()
    lines = gpd.read_file(out / "detect" / "cracks.gpkg", layer="crack_centerlines")
    truth = gpd.read_file(out / "demo_truth.gpkg")
    assert len(lines) >= 1 and len(truth) >= 1
    # monitoring part: four surveys, the growing crack is alerted and delivered to the file outbox
    assert text.count("demo-slope: survey") == 4 and "FAILED" not in text and "FLAGGED" not in text
    outbox = out / "monitor" / "workspace" / "outbox"
    levels = sorted(p.stem.rsplit("-", 1)[1] for p in outbox.glob("*.eml"))
    assert levels and set(levels) <= {"yellow", "orange", "red"}
