"""A second look at every crack candidate: orthomosaic patches along its centreline, judged by a CNN.

The segmenter sees one tile at a time and flags thin dark lines; on natural ground many of them
are not cracks (gaps between stones or pipes, fence and string lines, rut edges, narrow shade).
The verifier looks again at each candidate that passed the shape filters: patches of the
orthomosaic of ``PATCH_PX`` model pixels (the size it was trained on) centred on points spaced
along the candidate's centreline, each scored by a small classifier trained on the segmenter's
own candidates (true cracks, and false ones on crack-free ground). A candidate is confirmed when
its mean patch score reaches the verifier's threshold; the others are kept for review
(``unconfirmed_features``), not reported as cracks.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import rasterio
import shapely
import torch
from numpy.typing import NDArray
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry

from geowarn.inference.cascade import LoadedModel, classify_tiles
from geowarn.io.raster import RasterInfo, read_rgb_window

#: Side of a verifier patch in model pixels (the size of its training patches).
PATCH_PX = 128
#: Distance between patch centres along a centreline, in model pixels.
SPACING_PX = 64
#: Most patches looked at per candidate (spread evenly along long ones).
MAX_PATCHES = 12


def patch_centres(line: BaseGeometry, spacing: float, max_patches: int = MAX_PATCHES) -> NDArray[np.float64]:
    """(K, 2) points spread evenly along ``line`` (K = length / spacing, 1..``max_patches``)."""
    length = float(line.length)
    k = int(np.clip(np.ceil(length / spacing), 1, max_patches))
    points = shapely.line_interpolate_point(line, (np.arange(k) + 0.5) * length / k)
    return np.asarray(shapely.get_coordinates(points), dtype=np.float64)


def _padded(image: NDArray[np.uint8], top: int, bottom: int, left: int, right: int) -> NDArray[np.uint8]:
    if not (top or bottom or left or right):
        return image
    # mirrored about the edge pixel, as the training patches were (OpenCV's BORDER_REFLECT_101)
    return np.pad(image, ((top, bottom), (left, right), (0, 0)), mode="reflect")


def read_patch(src: rasterio.io.DatasetReader, info: RasterInfo, x: float, y: float, side: int) -> NDArray[np.uint8]:
    """``side`` x ``side`` raster pixels centred on world point (x, y), mirrored where it leaves the raster."""
    row, col = rasterio.transform.rowcol(info.transform, x, y)
    r0, c0 = int(row) - side // 2, int(col) - side // 2
    r1, c1 = r0 + side, c0 + side
    rr0, cc0 = min(max(r0, 0), info.height - 1), min(max(c0, 0), info.width - 1)
    rr1, cc1 = max(min(r1, info.height), rr0 + 1), max(min(c1, info.width), cc0 + 1)
    image, _ = read_rgb_window(src, info, Window(cc0, rr0, cc1 - cc0, rr1 - rr0))
    out = _padded(image, rr0 - r0, r1 - rr1, cc0 - c0, c1 - cc1)
    return out[:side, :side]


class CrackVerifier:
    """Scores crack candidates on orthomosaic patches along their centrelines."""

    def __init__(
        self, model: LoadedModel, device: torch.device, amp_dtype: torch.dtype | None, batch: int = 64
    ) -> None:
        self.model = model
        self.device = device
        self.amp_dtype = amp_dtype
        self.batch = batch

    @property
    def threshold(self) -> float:
        return self.model.threshold

    def scores(
        self, src: rasterio.io.DatasetReader, info: RasterInfo, centrelines: Sequence[BaseGeometry], scale: float = 1.0
    ) -> NDArray[np.float32]:
        """Mean patch score per candidate; ``scale`` is model pixels per raster pixel."""
        if not centrelines:
            return np.zeros(0, np.float32)
        side = max(8, round(PATCH_PX / scale))
        spacing = SPACING_PX / scale * abs(info.transform.a or info.transform.b)
        owners: list[int] = []
        patches: list[NDArray[np.uint8]] = []
        for i, line in enumerate(centrelines):
            for x, y in patch_centres(line, spacing):
                patch = read_patch(src, info, x, y, side)
                if side != PATCH_PX:
                    patch = np.asarray(cv2.resize(patch, (PATCH_PX, PATCH_PX), interpolation=cv2.INTER_AREA), np.uint8)
                patches.append(patch)
                owners.append(i)
        per_patch = classify_tiles(self.model, np.stack(patches), self.batch, self.device, self.amp_dtype)
        sums = np.bincount(owners, weights=per_patch, minlength=len(centrelines))
        counts = np.bincount(owners, minlength=len(centrelines))
        return (sums / counts).astype(np.float32)
