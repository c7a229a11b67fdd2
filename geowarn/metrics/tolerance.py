"""Crack segmentation metrics with a distance tolerance (precision, recall, F1)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass
class ToleranceCounts:
    """Pixel counts for tolerant precision/recall, summable over a dataset.

    A predicted crack pixel is a true positive when a ground-truth crack pixel lies within
    ``tolerance`` pixels (Euclidean), and a ground-truth pixel is recalled when a predicted
    pixel lies within ``tolerance``. Masks are compared as they are (not thinned).
    """

    pred_matched: int = 0
    pred_total: int = 0
    truth_matched: int = 0
    truth_total: int = 0

    def __iadd__(self, other: ToleranceCounts) -> ToleranceCounts:
        self.pred_matched += other.pred_matched
        self.pred_total += other.pred_total
        self.truth_matched += other.truth_matched
        self.truth_total += other.truth_total
        return self

    @property
    def precision(self) -> float:
        return self.pred_matched / self.pred_total if self.pred_total else 1.0

    @property
    def recall(self) -> float:
        return self.truth_matched / self.truth_total if self.truth_total else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _distance_to(mask: NDArray[np.bool_]) -> NDArray[np.float32]:
    """Euclidean distance of every pixel to the nearest True pixel of ``mask``."""
    if not mask.any():
        return np.full(mask.shape, np.inf, dtype=np.float32)
    background = np.where(mask, 0, 255).astype(np.uint8)
    return np.asarray(cv2.distanceTransform(background, cv2.DIST_L2, cv2.DIST_MASK_PRECISE), dtype=np.float32)


def tolerance_counts(pred: NDArray[np.bool_], truth: NDArray[np.bool_], tolerance: float) -> ToleranceCounts:
    """Counts for one image; ``tolerance`` 0 means exact pixel agreement."""
    pred = pred.astype(bool)
    truth = truth.astype(bool)
    return ToleranceCounts(
        pred_matched=int((_distance_to(truth)[pred] <= tolerance).sum()),
        pred_total=int(pred.sum()),
        truth_matched=int((_distance_to(pred)[truth] <= tolerance).sum()),
        truth_total=int(truth.sum()),
    )
