"""Many small component windows packed side by side into one image.

Measuring thousands of small cracks one window at a time costs more in call overhead
than in arithmetic. Packing their windows into one image lets the distance transform,
the thinning, the skeleton graph and the profile sampling run once per batch. Every
window keeps an empty border of at least ``pad`` pixels around its crack, and the
operations that read beyond a pixel's 3 x 3 neighbourhood either stay within that
border or tell the components apart by ``owner``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = ["Atlas", "pack"]

_T = TypeVar("_T", bound=np.generic)


@dataclass
class Atlas:
    """Windows packed into one image.

    Attributes:
        image: The windows' pixels, zero between them.
        owner: ``1 + index`` of the window covering each pixel, 0 between windows.
        origin: (n, 2) (row, col) of each window's first pixel in ``image``.
        shape: (n, 2) height and width of each window.

    """

    image: NDArray[np.uint8]
    owner: NDArray[np.int32]
    origin: NDArray[np.int64]
    shape: NDArray[np.int64]

    def window(self, i: int, image: NDArray[_T]) -> NDArray[_T]:
        """View of window ``i`` in ``image``, an array the shape of the packed image."""
        (r, c), (h, w) = self.origin[i], self.shape[i]
        return image[r : r + h, c : c + w]


def pack(windows: Sequence[NDArray[np.uint8]]) -> Atlas:
    """Pack windows in shelves, tallest first, into a roughly square image.

    Args:
        windows: 2-D uint8 arrays; each should have an empty border.

    Returns:
        The atlas; ``origin[i]`` locates ``windows[i]``.

    """
    shape = np.array([w.shape for w in windows], dtype=np.int64).reshape(-1, 2)
    area = int((shape[:, 0] * shape[:, 1]).sum())
    width = max(int(shape[:, 1].max(initial=1)), math.isqrt(area) + 1)
    origin = np.zeros_like(shape)
    row = col = shelf = 0
    for i in np.argsort(-shape[:, 0], kind="stable").tolist():
        h, w = int(shape[i, 0]), int(shape[i, 1])
        if col + w > width:
            row, col, shelf = row + shelf, 0, 0
        origin[i] = (row, col)
        col += w
        shelf = max(shelf, h)
    height = row + shelf
    image = np.zeros((max(height, 1), width), dtype=np.uint8)
    owner = np.zeros(image.shape, dtype=np.int32)
    for i, win in enumerate(windows):
        (r, c), (h, w) = origin[i], shape[i]
        image[r : r + h, c : c + w] = win
        owner[r : r + h, c : c + w] = i + 1
    return Atlas(image, owner, origin, shape)
