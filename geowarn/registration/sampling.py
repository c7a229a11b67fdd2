"""Resample a survey onto an arbitrary north-up map grid, reading only what the grid needs.

Both surveys of a pair are compared on one grid (the reference's pixel grid for patches, a
coarse grid for the first estimate). A read covers the grid's footprint plus a few pixels of
margin, decimated by GDAL (``out_shape``, which uses overviews when the file has them) whenever
the grid is coarser than the raster, then warped in memory with the exact affine map from grid
pixels to raster pixels. Whole rasters are never read at full resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.windows import Window

from geowarn.errors import InvalidRasterError
from geowarn.io.raster import RasterInfo

#: Raster pixels read beyond the grid's footprint so that cubic interpolation has support.
READ_MARGIN_PX = 4
#: Luma weights of the R, G and B bands.
_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid in map units: ``transform`` maps (col, row) corners to (x, y)."""

    transform: Affine
    width: int
    height: int

    @property
    def res(self) -> float:
        """Pixel size in map units."""
        return abs(self.transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in map units."""
        left, top = self.transform * (0, 0)
        right, bottom = self.transform * (self.width, self.height)
        return min(left, right), min(bottom, top), max(left, right), max(bottom, top)

    @classmethod
    def over(cls, bounds: tuple[float, float, float, float], res: float) -> Grid:
        """Grid of ``res`` pixels whose top-left corner is the top-left of ``bounds``."""
        left, bottom, right, top = bounds
        width = max(1, round((right - left) / res))
        height = max(1, round((top - bottom) / res))
        return cls(Affine(res, 0.0, left, 0.0, -res, top), width, height)

    def window(self, col: int, row: int, width: int, height: int) -> Grid:
        """Sub-grid starting at pixel (col, row)."""
        return Grid(self.transform * Affine.translation(col, row), width, height)


def raster_bounds(info: RasterInfo) -> tuple[float, float, float, float]:
    """Footprint rectangle (left, bottom, right, top) of a raster in map units."""
    corners = [info.transform * c for c in ((0, 0), (info.width, 0), (0, info.height), (info.width, info.height))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return min(xs), min(ys), max(xs), max(ys)


def raster_res(info: RasterInfo) -> float:
    """Pixel size of a raster in map units."""
    return math.sqrt(abs(info.transform.determinant))


def _source_window(info: RasterInfo, grid: Grid, shift: tuple[float, float]) -> Window | None:
    """Integer raster window covering the grid's footprint displaced by ``-shift``, with margin."""
    to_px = ~info.transform
    left, bottom, right, top = grid.bounds
    corners = [to_px * (x - shift[0], y - shift[1]) for x in (left, right) for y in (bottom, top)]
    cols, rows = [c[0] for c in corners], [c[1] for c in corners]
    col0 = max(0, math.floor(min(cols)) - READ_MARGIN_PX)
    row0 = max(0, math.floor(min(rows)) - READ_MARGIN_PX)
    col1 = min(info.width, math.ceil(max(cols)) + READ_MARGIN_PX)
    row1 = min(info.height, math.ceil(max(rows)) + READ_MARGIN_PX)
    if col1 - col0 < 2 or row1 - row0 < 2:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def _read_gray(
    src: rasterio.io.DatasetReader, info: RasterInfo, window: Window, out_shape: tuple[int, int]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Grey level (0–255) and validity (0/1) of ``window`` decimated to ``out_shape``."""
    decimated = out_shape != (int(window.height), int(window.width))
    resampling = Resampling.average if decimated else Resampling.nearest
    try:
        data = src.read(indexes=list(info.rgb_bands), window=window, out_shape=(3, *out_shape), resampling=resampling)
        if info.has_mask:
            valid = (src.dataset_mask(window=window, out_shape=out_shape) > 0).astype(np.float32)
        else:
            valid = np.ones(out_shape, np.float32)
    except RasterioError as exc:
        raise InvalidRasterError(
            f"{info.path}: cannot be decoded at {window} ({exc}); the file is truncated or corrupt. "
            "Fix: copy the file again from the processing machine"
        ) from exc
    gray = np.zeros(out_shape, np.float32)
    for i, weight in enumerate(_LUMA):
        band = data[i].astype(np.float32)
        if info.stretch is not None:
            lo, hi = info.stretch[i]
            band = np.clip((band - lo) * (255.0 / (hi - lo)), 0.0, 255.0)
        gray += weight * band
    return gray, valid


def read_on_grid(
    src: rasterio.io.DatasetReader,
    info: RasterInfo,
    grid: Grid,
    shift: tuple[float, float] = (0.0, 0.0),
    *,
    interpolation: int = cv2.INTER_CUBIC,
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Sample a survey at the grid's pixel centres displaced by ``-shift`` (map units).

    With ``shift`` = the registration (moving → reference), the moving survey lands on the
    reference grid: grid pixel ``p`` receives the moving survey's value at ``map(p) - shift``.

    Returns:
        Grey levels (H x W float32, 0–255) and validity (H x W bool; false outside the raster,
        on no-data and next to it).

    """
    shape = (grid.height, grid.width)
    window = _source_window(info, grid, shift)
    if window is None:
        return np.zeros(shape, np.float32), np.zeros(shape, bool)
    factor = grid.res / raster_res(info)
    if factor >= 1.5:
        out_shape = (max(2, math.ceil(window.height / factor)), max(2, math.ceil(window.width / factor)))
    else:
        out_shape = (int(window.height), int(window.width))
    gray, valid = _read_gray(src, info, window, out_shape)
    read_transform = src.window_transform(window) * Affine.scale(
        window.width / out_shape[1], window.height / out_shape[0]
    )
    # grid pixel index (centre at integer coordinates) -> read-array pixel index
    matrix = (
        Affine.translation(-0.5, -0.5)
        * ~read_transform
        * Affine.translation(-shift[0], -shift[1])
        * grid.transform
        * Affine.translation(0.5, 0.5)
    )
    m = np.array([[matrix.a, matrix.b, matrix.c], [matrix.d, matrix.e, matrix.f]], np.float64)
    flags = interpolation | cv2.WARP_INVERSE_MAP
    out = cv2.warpAffine(gray, m, (grid.width, grid.height), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(
        valid, m, (grid.width, grid.height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0
    )
    # cubic interpolation reaches one pixel further than the bilinear mask: erode by one pixel
    inside = cv2.erode((inside >= 0.999).astype(np.uint8), np.ones((3, 3), np.uint8))
    return out.astype(np.float32), inside.astype(bool)
