"""Read tile rows of an orthomosaic: padded strips, tiles cut from them, no-data filling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio
from numpy.typing import NDArray
from rasterio.windows import Window

from geowarn.io.raster import RasterInfo, read_rgb_window
from geowarn.tiling.grid import TileGrid


@dataclass
class TileRow:
    """All tiles of one grid row, with their validity."""

    row: int
    rgb: NDArray[np.uint8]  # size x (cols*core + 2*margin) x 3, reflect-padded past the raster
    valid: NDArray[np.bool_]  # same shape without the channel axis
    read_seconds: float = 0.0

    def tile(self, grid: TileGrid, col: int) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
        """Views of tile ``col``'s pixels and validity."""
        x0 = col * grid.core
        return self.rgb[:, x0 : x0 + grid.size], self.valid[:, x0 : x0 + grid.size]


def read_tile_row(src: rasterio.io.DatasetReader, info: RasterInfo, grid: TileGrid, row: int) -> TileRow:
    """Read the raster rows under grid row ``row`` in one full-width, block-aligned read."""
    import time

    t0 = time.perf_counter()
    start, stop = grid.row_span(row)
    rgb, valid = read_rgb_window(src, info, Window(0, start, info.width, stop - start))
    top = start - (row * grid.core - grid.margin)
    bottom = grid.size - top - (stop - start)
    right = grid.cols * grid.core + grid.margin - info.width
    pad = ((top, bottom), (grid.margin, right))
    rgb = np.pad(rgb, (*pad, (0, 0)), mode="reflect")
    valid = np.pad(valid, pad, mode="reflect")
    return TileRow(row, rgb, valid, time.perf_counter() - t0)


def fill_invalid(tile: NDArray[np.uint8], valid: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """Copy of ``tile`` with no-data pixels set to the mean colour of its valid pixels.

    A flat fill avoids the strong edges that black no-data borders would present to the models.
    """
    out = tile.copy()
    out[~valid] = tile[valid].mean(axis=0).astype(np.uint8)
    return out
