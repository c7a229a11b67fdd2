"""Where two surveys both saw the ground: change is measured there only.

A crack that runs off the edge of an earlier survey's imaged area and is seen further in a later
survey has not grown: that ground was never imaged before. And the segmenter, short of context
at a raster's edge, delineates less reliably there. So extension and new cracks count only
inside the common imaged area of the two surveys of a pair, shrunk by a margin that covers the
model's edge context and the co-registration uncertainty; a crack end at the edge of either
survey's ground is open-ended, never extension.

Imaged areas are polygons of each survey's valid pixels (its mask or no-data), read decimated and
shrunk by one decimated pixel, moved into the site frame.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.features import shapes
from shapely import affinity, unary_union
from shapely.geometry import Polygon, box, shape
from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

#: The validity mask is read at most this many cells on its longer side.
MASK_CELLS = 1024


def imaged_area(path: Path, frame: tuple[float, float]) -> BaseGeometry | None:
    """Site-frame polygon of the valid pixels of the survey at ``path`` (``frame``: its shift); None if unreadable."""
    try:
        with rasterio.open(path) as src:
            step = max(1, int(np.ceil(max(src.width, src.height) / MASK_CELLS)))
            out_shape = (max(1, src.height // step), max(1, src.width // step))
            mask = src.dataset_mask(out_shape=out_shape, resampling=Resampling.nearest) > 0
            sx, sy = src.width / out_shape[1], src.height / out_shape[0]
            transform = src.transform * Affine.scale(sx, sy)
            cell = max(abs(transform.a), abs(transform.e))
    except (OSError, rasterio.errors.RasterioError) as exc:
        log.warning("imaged area of %s not read (%s): change is not limited to it", path, exc)
        return None
    if mask.all():
        h, w = mask.shape
        (x0, y0), (x1, y1) = transform * (0, 0), transform * (w, h)
        area: BaseGeometry = box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    else:
        polygons = [shape(g) for g, v in shapes(mask.astype(np.uint8), mask=mask, transform=transform) if v]
        area = unary_union(polygons).buffer(-cell) if polygons else Polygon()
    return affinity.translate(area, *frame)


class Coverage:
    """Common imaged area of the current survey and each earlier one, shrunk by ``margin_m``."""

    def __init__(self, current: Path, frame: tuple[float, float], margin_m: float) -> None:
        self.margin_m = margin_m
        self.current = imaged_area(current, frame)
        self._common: dict[tuple[Path, tuple[float, float]], BaseGeometry | None] = {}

    def common(self, earlier: Path, frame: tuple[float, float]) -> BaseGeometry | None:
        """Where both surveys saw the ground, less the margin; None when either area is unknown."""
        key = (earlier, frame)
        if key not in self._common:
            before = imaged_area(earlier, frame)
            both = None if before is None or self.current is None else self.current.intersection(before)
            self._common[key] = None if both is None else both.buffer(-self.margin_m)
        return self._common[key]


def inside(lines: BaseGeometry, area: BaseGeometry | None) -> BaseGeometry:
    """The part of ``lines`` inside ``area`` (all of it when the area is unknown)."""
    return lines if area is None else lines.intersection(area)
