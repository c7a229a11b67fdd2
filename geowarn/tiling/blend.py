"""Seamless stitching: overlapping tile outputs blended with a smooth window, row by row."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from geowarn.tiling.grid import TileGrid


def blend_weights(size: int, margin: int) -> NDArray[np.float32]:
    """2-D blending window: 1 in the core, sin² ramps across the ``2 * margin`` overlap.

    Adjacent tiles overlap by ``2 * margin``; there one tile's ramp is sin² and the other's
    cos² of the same angle, so the weights sum to one and the blend has no seam.
    """
    ramp_len = 2 * margin
    w = np.ones(size, np.float32)
    if ramp_len:
        t = (np.arange(ramp_len, dtype=np.float32) + 0.5) / ramp_len
        ramp = np.sin(t * np.pi / 2) ** 2
        w[:ramp_len] = ramp
        w[size - ramp_len :] = ramp[::-1]
    return np.outer(w, w)


class RowBlender:
    """Accumulates weighted tile probabilities for one grid row at a time.

    Memory is two float32 buffers of ``tile size x (raster width + 2 margin)``: independent of
    the raster's height. Call :meth:`add` for each tile of grid row ``r``, then
    :meth:`finish_row` to get the rows that are final, then go on with ``r + 1``. Starting at
    ``first_row > 0``, the first finished rows lack the row above's share of the overlap: they
    are a halo to discard.
    """

    def __init__(self, grid: TileGrid, first_row: int = 0) -> None:
        self.grid = grid
        self.weights = blend_weights(grid.size, grid.margin)
        width = grid.cols * grid.core + 2 * grid.margin
        self._num = np.zeros((grid.size, width), np.float32)
        self._den = np.zeros((grid.size, width), np.float32)
        self._row = first_row
        self._top = first_row * grid.core - grid.margin  # raster row of buffer row 0

    def add(self, tile_row: int, tile_col: int, prob: NDArray[np.float32]) -> None:
        """Blend one tile's probability (``size x size``) into the buffer."""
        if tile_row != self._row:
            raise ValueError(f"tile row {tile_row} added while row {self._row} is open")
        g = self.grid
        y0 = tile_row * g.core - g.margin - self._top
        x0 = tile_col * g.core
        sl = np.s_[y0 : y0 + g.size, x0 : x0 + g.size]
        self._num[sl] += prob * self.weights
        self._den[sl] += self.weights

    def finish_row(self) -> tuple[int, NDArray[np.float32]]:
        """Close the open grid row; return (first raster row, final probabilities)."""
        g = self.grid
        start, stop = g.final_rows(self._row)
        a, b = start - self._top, stop - self._top
        num, den = self._num[a:b], self._den[a:b]
        prob = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        prob = prob[:, g.margin : g.margin + g.width]
        # Shift the unfinished overlap rows to the top of the buffer for the next grid row.
        keep = self._num.shape[0] - b
        self._num[:keep] = self._num[b:]
        self._den[:keep] = self._den[b:]
        self._num[keep:] = 0
        self._den[keep:] = 0
        self._top += b
        self._row += 1
        return start, np.ascontiguousarray(prob)
