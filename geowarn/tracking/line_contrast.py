"""Dark-line contrast along a crack's centreline, read straight from the imagery (no segmenter).

A crack is a dark line: along its centreline the ground is darker than a few pixels to either
side. Measured at the same site-frame points in two co-registered surveys, the contrast tells
whether the earlier imagery already showed the line, independently of the segmenter, whose
output can swing from one light to the next. Contrast is relative (side minus centre, over side),
so a brighter or darker survey reads the same.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from rasterio.io import DatasetReader
from rasterio.windows import Window
from scipy.ndimage import map_coordinates, median_filter

#: Across-line offsets (pixels): the darkest of the centre ones is the line, the median of the side
#: ones the ground beside it (beyond the half-width of cracks a few pixels wide).
CENTRE_OFFSETS_PX = (-2, -1, 0, 1, 2)
SIDE_OFFSETS_PX = (-7, -6, -5, 5, 6, 7)
#: Read margin around the points, pixels.
MARGIN_PX = 10


def unit_normals(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit normals (x, y) of a polyline sampled at ``points`` (central differences)."""
    if len(points) < 2:
        return np.tile([0.0, 1.0], (len(points), 1))
    tangent = np.gradient(points, axis=0)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-12)
    return np.column_stack([-tangent[:, 1], tangent[:, 0]])


def read_gray_around(
    src: DatasetReader, frame: tuple[float, float], points: NDArray[np.float64], margin_px: int
) -> tuple[NDArray[np.float64] | None, NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Grey levels of the window of ``src`` around site-frame ``points`` (plus ``margin_px``).

    Returns (grey, valid, cols, rows): the window's mean of its first three bands and its valid
    pixels (1.0) as float arrays, and the points' fractional columns and rows in that window.
    ``grey`` is None when the points lie off the image. ``frame`` is the image's shift into the
    site frame (site = image + frame); only the window is read.
    """
    cols, rows = ~src.transform * (points[:, 0] - frame[0], points[:, 1] - frame[1])
    cols, rows = np.asarray(cols, np.float64) - 0.5, np.asarray(rows, np.float64) - 0.5
    empty = np.zeros((0, 0))
    if not len(points):
        return None, empty, cols, rows
    c0, r0 = int(np.floor(cols.min())) - margin_px, int(np.floor(rows.min())) - margin_px
    c1, r1 = int(np.ceil(cols.max())) + margin_px, int(np.ceil(rows.max())) + margin_px
    if c1 < 0 or r1 < 0 or c0 >= src.width or r0 >= src.height:
        return None, empty, cols, rows
    window = Window(c0, r0, c1 - c0 + 1, r1 - r0 + 1).intersection(Window(0, 0, src.width, src.height))
    bands = src.read(indexes=[1, 2, 3] if src.count >= 3 else [1] * 3, window=window, masked=True)
    valid = np.asarray(~np.ma.getmaskarray(bands).any(axis=0), np.float64)
    gray: NDArray[np.float64] = np.asarray(bands.filled(0), np.float64).mean(axis=0)
    return gray, valid, cols - window.col_off, rows - window.row_off


def relative_contrast(
    src: DatasetReader,
    frame: tuple[float, float],
    points: NDArray[np.float64],
    normals: NDArray[np.float64],
    smooth: int = 1,
) -> NDArray[np.float64]:
    """Relative dark-line contrast at site-frame ``points`` of the open image ``src`` (NaN outside it).

    ``frame`` is the image's shift into the site frame (site = image + frame); ``smooth`` the
    length, in points, of the running median along the line that evens out ground texture.
    Only a window around the points is read.
    """
    out = np.full(len(points), np.nan)
    gray, valid, cols, rows = read_gray_around(src, frame, points, MARGIN_PX)
    if gray is None:
        return out
    h, w = gray.shape
    inside = (cols >= 0) & (cols <= w - 1) & (rows >= 0) & (rows <= h - 1)
    if not inside.any():
        return out
    # map normals (x east, y north) to image axes (col right, row down), one pixel long
    dc, dr = normals[:, 0], -normals[:, 1]

    def sample(offsets: tuple[int, ...], image: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.array(
            [map_coordinates(image, [rows + o * dr, cols + o * dc], order=1, mode="nearest") for o in offsets]
        )

    centre = sample(CENTRE_OFFSETS_PX, gray).min(axis=0)
    side = np.median(sample(SIDE_OFFSETS_PX, gray), axis=0)
    ok = inside & (sample(CENTRE_OFFSETS_PX + SIDE_OFFSETS_PX, valid).min(axis=0) > 0.999)
    contrast = (side - centre) / np.maximum(side, 1.0)
    if smooth > 1:
        contrast = median_filter(contrast, size=smooth, mode="nearest")
    out[ok] = contrast[ok]
    return out
