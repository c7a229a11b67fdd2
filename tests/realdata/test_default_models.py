"""Shipped models on held-out real data (figures of models/MODEL_CARD.md, on a subset here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from geowarn.evaluation.defaults import evaluate_defaults, evaluation_splits

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_held_out_splits_never_include_selection_val(shared_data: Path) -> None:
    splits = evaluation_splits(shared_data / "crack-seg")
    assert splits["crack500"] == "val" and splits["deepcrack"] == "val"
    assert splits["gaps384"] == "test" and "val" not in {splits[s] for s in ("gaps384", "shadowcrack", "aiglern-trimm")}


def test_default_cascade_beats_morphological_baseline(shared_data: Path) -> None:
    report = evaluate_defaults(shared_data, limit=12)
    sources = report["sources"]
    assert set(sources) == set(evaluation_splits(shared_data / "crack-seg")) | {"rock-fracture"}
    mean_cascade = sum(r["cascade"]["f1_2px"] for r in sources.values()) / len(sources)
    mean_baseline = sum(r["baseline"]["f1_2px"] for r in sources.values()) / len(sources)
    assert mean_cascade > mean_baseline + 0.15, (mean_cascade, mean_baseline)
    fa = report["false_alarms"]["detect"]
    assert fa["length_m_per_ha"] is not None and fa["area_ha"] > 0.01
    natural = report["natural_false_alarms"]
    assert natural["images"] == 12 and {"detect", "monitor"} <= set(natural)
    assert {"scale_1", "scale_0.5"} <= set(report["natural_transplants"])
