"""Classical morphological crack detector (black-hat + threshold), the reference to beat.

Cracks are thin dark valleys: the black-hat transform (closing minus image) with a structuring
element wider than the crack responds to them; a threshold on the response and a minimum
component size give the mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class BlackHatParams:
    """Structuring element diameter (px), response threshold (grey levels), minimum area (px)."""

    kernel: int = 15
    threshold: float = 20.0
    min_area: int = 30


def blackhat_response(rgb: NDArray[np.uint8], kernel: int) -> NDArray[np.uint8]:
    """Black-hat of the lightly smoothed grey image with an elliptical element."""
    grey = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (3, 3), 0)
    element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
    return np.asarray(cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, element), dtype=np.uint8)


def blackhat_detect(rgb: NDArray[np.uint8], params: BlackHatParams) -> NDArray[np.bool_]:
    """Binary crack mask of ``rgb`` (H x W x 3 uint8)."""
    binary = (blackhat_response(rgb, params.kernel) >= params.threshold).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= params.min_area
    mask: NDArray[np.bool_] = keep[labels]
    return mask
