from __future__ import annotations

import json

import numpy as np
import pytest

from geowarn.metrics.classification import classification_report, format_classification_table


def test_known_confusion_counts() -> None:
    # truth:  1 1 1 1 0 0 0 0 0 0 ; scores >= 0.5 predict 1 1 1 0 1 0 0 0 0 0
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    scores = np.array([0.9, 0.8, 0.5, 0.2, 0.7, 0.1, 0.0, 0.3, 0.49, 0.2])
    r = classification_report(labels, scores)
    assert r["confusion"] == {"tp": 3, "fp": 1, "tn": 5, "fn": 1}
    assert r["confusion_matrix"] == [[5, 1], [1, 3]]
    assert r["n"] == 10 and r["threshold"] == 0.5
    assert r["accuracy"] == pytest.approx(0.8)
    assert r["R"] == pytest.approx(0.75) and r["MA"] == pytest.approx(0.25)
    assert r["P"] == pytest.approx(0.75) and r["FA"] == pytest.approx(0.25)  # FA = FP / (TP + FP)
    assert r["F1"] == pytest.approx(0.75)


def test_threshold_moves_predictions() -> None:
    labels = np.array([True, False, True, False])
    scores = np.array([0.6, 0.4, 0.3, 0.1], dtype=np.float32)
    r = classification_report(labels, scores, threshold=0.35)
    assert r["confusion"] == {"tp": 1, "fp": 1, "tn": 1, "fn": 1}
    assert r["FA"] == pytest.approx(0.5) and r["MA"] == pytest.approx(0.5)


def test_undefined_ratios_are_none_and_json_serialisable() -> None:
    r = classification_report(np.zeros(3, bool), np.zeros(3))
    assert r["accuracy"] == 1.0
    assert r["R"] is None and r["MA"] is None and r["P"] is None and r["FA"] is None and r["F1"] is None
    assert json.loads(json.dumps(r)) == r


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in size"):
        classification_report(np.zeros(3, bool), np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        classification_report(np.zeros(1, bool), np.array([np.nan]))


def test_table_has_one_row_per_model() -> None:
    labels = np.array([True, False])
    rows = {
        "tilecls-s": classification_report(labels, np.array([0.9, 0.1])),
        "none": classification_report(labels, np.array([0.0, 0.0])),
    }
    lines = format_classification_table(rows).splitlines()
    assert len(lines) == 3
    assert lines[0].split()[:4] == ["model", "n", "thr", "acc"]
    assert lines[1].startswith("tilecls-s") and "1.000" in lines[1]
    assert lines[2].startswith("none") and " -" in lines[2]
