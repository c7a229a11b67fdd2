"""Crack segmentation scores over a dataset: P/R/F1 exact and with tolerance, IoU, ODS and OIS.

Counts follow :class:`geowarn.metrics.tolerance.ToleranceCounts` (a predicted pixel is correct when a
crack pixel lies within the tolerance, a crack pixel is found when a predicted pixel does; an
empty prediction has precision 1, an empty truth recall 1). A pixel is predicted as crack when
its probability is ``>= threshold``.

Images whose truth mask is empty (crack-free ground) also give a false-alarm rate: the share of
their pixels predicted as crack, at the threshold and at every sweep threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from geowarn.metrics.tolerance import ToleranceCounts, _distance_to

#: Thresholds swept for ODS and OIS: 0.05, 0.10, ..., 0.95.
DEFAULT_SWEEP: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))

# Columns of the per-image count arrays (one row per threshold).
_PRED_TOTAL, _PRED_MATCHED, _TRUTH_MATCHED, _INTERSECTION = range(4)


def _disk(radius: float) -> NDArray[np.uint8]:
    """Structuring element of the pixel offsets within Euclidean distance ``radius``."""
    r = int(np.floor(radius))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disk: NDArray[np.uint8] = (yy**2 + xx**2 <= radius**2).astype(np.uint8)
    return disk


def _count_at_least(values: NDArray[np.float32], thresholds: NDArray[np.float32]) -> NDArray[np.int64]:
    """How many ``values`` are ``>= t`` for every ``t`` in ``thresholds``."""
    ordered = np.sort(values, axis=None)
    return (ordered.size - np.searchsorted(ordered, thresholds, side="left")).astype(np.int64)


def image_counts(
    prob: NDArray[np.floating[Any]], truth: NDArray[np.bool_], thresholds: Sequence[float], tolerance: float
) -> tuple[NDArray[np.int64], int]:
    """Per-threshold counts of one image and its number of crack pixels.

    Returns an array with one row per threshold and the columns predicted pixels, predicted
    pixels within ``tolerance`` of the truth, truth pixels within ``tolerance`` of a prediction,
    and predicted pixels on truth pixels (exact overlap). The truth's distance map is computed
    once; instead of a distance map of the prediction at every threshold, a grey dilation of
    ``prob`` by the tolerance disk gives each pixel the highest probability within the
    tolerance, so a truth pixel is found at threshold ``t`` exactly when that value is ``>= t``.
    """
    p = np.asarray(prob, dtype=np.float32)
    t = np.asarray(truth).astype(bool)
    ts = np.asarray(thresholds, dtype=np.float32)  # compare in float32, like ``prob >= t``
    near_truth = _distance_to(t) <= tolerance
    reach = cv2.dilate(p, _disk(tolerance)) if tolerance >= 1 else p
    counts = np.stack(
        [
            _count_at_least(p, ts),
            _count_at_least(p[near_truth], ts),
            _count_at_least(reach[t], ts),
            _count_at_least(p[t], ts),
        ],
        axis=1,
    )
    return counts, int(t.sum())


def _tolerant(row: NDArray[np.int64], truth_total: int) -> ToleranceCounts:
    return ToleranceCounts(int(row[_PRED_MATCHED]), int(row[_PRED_TOTAL]), int(row[_TRUTH_MATCHED]), int(truth_total))


def _exact(row: NDArray[np.int64], truth_total: int) -> ToleranceCounts:
    overlap = int(row[_INTERSECTION])
    return ToleranceCounts(overlap, int(row[_PRED_TOTAL]), overlap, int(truth_total))


class SegmentationScorer:
    """Accumulates crack probability maps against truth masks and reports dataset scores.

    Only per-image, per-threshold pixel counts are kept (a few integers per image), never the
    images. See :meth:`report` for the figures.
    """

    def __init__(self, threshold: float = 0.5, sweep: Sequence[float] = DEFAULT_SWEEP, tolerance: float = 2.0) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if not sweep:
            raise ValueError("the threshold sweep is empty")
        if tolerance < 0:
            raise ValueError(f"tolerance must be >= 0 px, got {tolerance}")
        self.threshold = float(threshold)
        self.sweep = tuple(float(s) for s in sweep)
        self.tolerance = float(tolerance)
        self._counts: list[NDArray[np.int64]] = []
        self._truth_totals: list[int] = []
        self._sizes: list[int] = []

    def add(self, prob: NDArray[np.floating[Any]], truth: NDArray[np.bool_]) -> None:
        """Score one H x W probability map (values in [0, 1]) against its H x W crack mask."""
        if prob.ndim != 2 or prob.shape != truth.shape:
            raise ValueError(f"prob and truth must be equal H x W arrays, got {prob.shape} and {truth.shape}")
        if prob.size and not (float(np.min(prob)) >= 0.0 and float(np.max(prob)) <= 1.0):
            raise ValueError("prob must hold probabilities in [0, 1] (apply a sigmoid to logits)")
        counts, truth_total = image_counts(prob, truth, [*self.sweep, self.threshold], self.tolerance)
        self._counts.append(counts)
        self._truth_totals.append(truth_total)
        self._sizes.append(int(prob.size))

    @property
    def n_images(self) -> int:
        """Images added so far."""
        return len(self._counts)

    def _background_rates(self) -> tuple[int, NDArray[np.float64] | None]:
        """(crack-free images, their predicted-crack pixel share per sweep threshold + threshold)."""
        empty = [i for i, total in enumerate(self._truth_totals) if total == 0]
        pixels = sum(self._sizes[i] for i in empty)
        if not pixels:
            return len(empty), None
        predicted = np.stack([self._counts[i][:, _PRED_TOTAL] for i in empty]).sum(axis=0)
        return len(empty), predicted / pixels

    def report(self) -> dict[str, Any]:
        """Dataset scores.

        At ``threshold``, from pixel counts summed over all images: ``precision_0px``,
        ``recall_0px``, ``f1_0px`` (exact), ``precision_tol``, ``recall_tol``, ``f1_tol`` (within
        ``tolerance_px``) and ``iou`` (crack class, exact; 1.0 when both masks are empty
        everywhere). Over the sweep: ``ods_f1`` and ``ods_threshold`` (the best dataset-level
        tolerant F1 and the lowest threshold giving it), ``ois_f1`` (the mean over images of
        each image's best tolerant F1) and ``pr_curve`` (dataset-level tolerant precision,
        recall and F1 per sweep threshold). Crack-free images (empty truth masks):
        ``background_images`` and ``background_fp_rate`` (share of their pixels predicted as
        crack at ``threshold``; None without such images), also per sweep threshold in the curve.
        """
        if not self._counts:
            raise ValueError("no images were added to the scorer")
        counts = np.stack(self._counts)  # images x thresholds x columns
        truth_totals = np.asarray(self._truth_totals, dtype=np.int64)
        total_truth = int(truth_totals.sum())
        summed = counts.sum(axis=0)
        at = summed[-1]
        exact = _exact(at, total_truth)
        tolerant = _tolerant(at, total_truth)
        union = int(at[_PRED_TOTAL]) + total_truth - int(at[_INTERSECTION])
        curve = [_tolerant(summed[i], total_truth) for i in range(len(self.sweep))]
        f1s = [c.f1 for c in curve]
        best = int(np.argmax(f1s))
        n_background, rates = self._background_rates()
        per_image_best = [
            max(_tolerant(image[i], int(tt)).f1 for i in range(len(self.sweep)))
            for image, tt in zip(counts, truth_totals, strict=True)
        ]
        return {
            "n_images": self.n_images,
            "threshold": self.threshold,
            "tolerance_px": self.tolerance,
            "precision_0px": exact.precision,
            "recall_0px": exact.recall,
            "f1_0px": exact.f1,
            "precision_tol": tolerant.precision,
            "recall_tol": tolerant.recall,
            "f1_tol": tolerant.f1,
            "iou": int(at[_INTERSECTION]) / union if union else 1.0,
            "ods_f1": f1s[best],
            "ods_threshold": self.sweep[best],
            "ois_f1": float(np.mean(per_image_best)),
            "background_images": n_background,
            "background_fp_rate": None if rates is None else float(rates[-1]),
            "pr_curve": [
                {
                    "threshold": s,
                    "precision": c.precision,
                    "recall": c.recall,
                    "f1": c.f1,
                    "background_fp_rate": None if rates is None else float(rates[i]),
                }
                for i, (s, c) in enumerate(zip(self.sweep, curve, strict=True))
            ],
        }


def format_segmentation_table(rows: Mapping[str, dict[str, Any]]) -> str:
    """Plain-text table, one line per model, of :meth:`SegmentationScorer.report` results.

    When some row scored crack-free images, a last column ``bg FA %`` gives the percentage of
    their pixels predicted as crack (``-`` for rows without such images).
    """
    tolerance = next(iter(rows.values()))["tolerance_px"] if rows else 2.0
    tol = f"{tolerance:g}px"
    name_width = max([5, *(len(name) for name in rows)]) + 2
    columns = [
        ("P@0px", "precision_0px"),
        ("R@0px", "recall_0px"),
        ("F1@0px", "f1_0px"),
        (f"P@{tol}", "precision_tol"),
        (f"R@{tol}", "recall_tol"),
        (f"F1@{tol}", "f1_tol"),
        ("IoU", "iou"),
        ("ODS", "ods_f1"),
        ("ODS thr", "ods_threshold"),
        ("OIS", "ois_f1"),
    ]
    background = any(r.get("background_fp_rate") is not None for r in rows.values())
    lines = [
        f"{'model':<{name_width}}{'n':>6}{'thr':>7}"
        + "".join(f"{h:>9}" for h, _ in columns)
        + (f"{'bg FA %':>9}" if background else "")
    ]
    for name, r in rows.items():
        cells = "".join(f"{r[key]:>9.3f}" for _, key in columns)
        rate = r.get("background_fp_rate")
        extra = (f"{100 * rate:>9.2f}" if rate is not None else f"{'-':>9}") if background else ""
        lines.append(f"{name:<{name_width}}{r['n_images']:>6}{r['threshold']:>7.3f}{cells}{extra}")
    return "\n".join(lines)
