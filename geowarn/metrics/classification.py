"""Crack / no-crack classification scores: accuracy, R, MA, P, FA, F1 and the confusion matrix.

R, MA, P and FA follow the bridge-crack literature's definitions::

    R  = TP / (TP + FN)    recall
    MA = FN / (TP + FN)    missing alarm, 1 - R
    P  = TP / (TP + FP)    precision
    FA = FP / (TP + FP)    false alarm, 1 - P (a share of the alarms, not FP / (FP + TN))

A ratio whose denominator is zero (no crack images for R and MA, no positive predictions for P
and FA, no errors and no true positives for F1, no images for accuracy) is undefined and given
as ``None``, so reports stay JSON-serialisable and never show a made-up 0 or 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def classification_report(
    labels: NDArray[np.bool_], scores: NDArray[np.floating[Any]], threshold: float = 0.5
) -> dict[str, Any]:
    """Scores of crack predictions ``scores >= threshold`` against ``labels`` (True = crack).

    Returns ``accuracy``, ``R``, ``MA``, ``P``, ``FA``, ``F1`` (``None`` where undefined, see the
    module docstring), ``n``, ``threshold``, ``confusion`` (``tp``, ``fp``, ``tn``, ``fn``) and
    ``confusion_matrix`` ``[[tn, fp], [fn, tp]]`` (row = truth, column = prediction; 0 = no crack).
    """
    truth = np.asarray(labels).astype(bool).ravel()
    values = np.asarray(scores, dtype=np.float64).ravel()
    if truth.shape != values.shape:
        raise ValueError(f"labels and scores differ in size: {truth.size} vs {values.size}")
    if not np.isfinite(values).all():
        raise ValueError("scores contain NaN or infinite values")
    pred = values >= threshold
    tp = int(np.count_nonzero(truth & pred))
    fp = int(np.count_nonzero(~truth & pred))
    tn = int(np.count_nonzero(~truth & ~pred))
    fn = int(np.count_nonzero(truth & ~pred))
    return {
        "n": int(truth.size),
        "threshold": float(threshold),
        "accuracy": _ratio(tp + tn, truth.size),
        "R": _ratio(tp, tp + fn),
        "MA": _ratio(fn, tp + fn),
        "P": _ratio(tp, tp + fp),
        "FA": _ratio(fp, tp + fp),
        "F1": _ratio(2 * tp, 2 * tp + fp + fn),
        "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }


def _cell(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.3f}"


def format_classification_table(rows: Mapping[str, dict[str, Any]]) -> str:
    """Plain-text table, one line per model, of :func:`classification_report` results."""
    name_width = max([5, *(len(name) for name in rows)]) + 2
    header = f"{'model':<{name_width}}{'n':>6}{'thr':>7}" + "".join(
        f"{k:>8}" for k in ("acc", "R", "MA", "P", "FA", "F1")
    )
    header += f"{'TP':>7}{'FP':>7}{'TN':>7}{'FN':>7}"
    lines = [header]
    for name, r in rows.items():
        c = r["confusion"]
        metrics = "".join(_cell(r[k], 8) for k in ("accuracy", "R", "MA", "P", "FA", "F1"))
        lines.append(
            f"{name:<{name_width}}{r['n']:>6}{r['threshold']:>7.3f}{metrics}"
            f"{c['tp']:>7}{c['fp']:>7}{c['tn']:>7}{c['fn']:>7}"
        )
    return "\n".join(lines)
