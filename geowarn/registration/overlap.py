"""Where two surveys overlap: common CRS, and the share of the new survey's imaged ground also in the reference.

Footprints are the imaged (valid) pixels, not the raster rectangles: drone orthomosaics often
carry wide no-data margins around the flight area, which would inflate a rectangle overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import rasterio
from rasterio.crs import CRS

from geowarn.io.raster import RasterInfo
from geowarn.registration.sampling import Grid, raster_bounds, raster_res, read_on_grid

#: Samples along the long side of the new survey when measuring the overlap.
OVERLAP_SAMPLES = 256

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class Overlap:
    """Common imaged area of two surveys.

    Attributes:
        bounds: bounding box (left, bottom, right, top, map units) of the common imaged area;
            None when the surveys do not overlap.
        fraction: common imaged area / imaged area of the moving survey.

    """

    bounds: Bounds | None
    fraction: float


def same_crs(reference: RasterInfo, moving: RasterInfo) -> bool:
    """Whether both surveys are in the same coordinate reference system."""
    if reference.epsg is not None and moving.epsg is not None:
        return reference.epsg == moving.epsg
    return bool(CRS.from_wkt(reference.crs_wkt) == CRS.from_wkt(moving.crs_wkt))


def intersect(a: Bounds, b: Bounds) -> Bounds | None:
    """Intersection of two (left, bottom, right, top) boxes, None when empty."""
    left, bottom = max(a[0], b[0]), max(a[1], b[1])
    right, top = min(a[2], b[2]), min(a[3], b[3])
    return (left, bottom, right, top) if right > left and top > bottom else None


def measure_overlap(
    ref_src: rasterio.io.DatasetReader,
    reference: RasterInfo,
    mov_src: rasterio.io.DatasetReader,
    moving: RasterInfo,
    samples: int = OVERLAP_SAMPLES,
) -> Overlap:
    """Common imaged area of two surveys in the same CRS, from decimated validity masks."""
    mov_bounds = raster_bounds(moving)
    if intersect(raster_bounds(reference), mov_bounds) is None:
        return Overlap(None, 0.0)
    left, bottom, right, top = mov_bounds
    res = max((right - left) / samples, (top - bottom) / samples, raster_res(moving))
    grid = Grid.over(mov_bounds, res)
    _, valid_mov = read_on_grid(mov_src, moving, grid, interpolation=cv2.INTER_LINEAR)
    _, valid_ref = read_on_grid(ref_src, reference, grid, interpolation=cv2.INTER_LINEAR)
    both = valid_mov & valid_ref
    imaged = int(valid_mov.sum())
    if imaged == 0 or not both.any():
        return Overlap(None, 0.0)
    rows = np.flatnonzero(both.any(axis=1))
    cols = np.flatnonzero(both.any(axis=0))
    x0, y0 = grid.transform * (int(cols[0]), int(rows[0]))
    x1, y1 = grid.transform * (int(cols[-1]) + 1, int(rows[-1]) + 1)
    box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    return Overlap(box, float(both.sum()) / imaged)
