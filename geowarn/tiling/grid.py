"""A tile grid with overlap, aligned to the raster's internal blocks.

Each tile has a *core* of ``core`` x ``core`` pixels on a grid whose origin is the raster's
top-left corner, plus a ``margin`` on every side shared with its neighbours (overlap
``2 * margin``). With power-of-two cores the cores coincide with the internal blocks of tiled
GeoTIFFs/COGs (128–1024 px blocks) and with strips of striped files, so whole blocks are
decoded once per tile row. Tiles at the raster edge extend past it; the reader pads them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from rasterio.windows import Window


@dataclass(frozen=True)
class Tile:
    """One tile: its index in the grid and its window (may extend past the raster)."""

    row: int
    col: int
    row0: int
    col0: int
    size: int

    @property
    def window(self) -> Window:
        return Window(self.col0, self.row0, self.size, self.size)


@dataclass(frozen=True)
class TileGrid:
    """Tiles of ``core + 2 * margin`` pixels every ``core`` pixels over a raster."""

    width: int
    height: int
    core: int = 256
    margin: int = 16

    def __post_init__(self) -> None:
        if self.core <= 0 or self.margin < 0:
            raise ValueError(f"tile core must be > 0 and margin >= 0, got core={self.core} margin={self.margin}")

    @property
    def size(self) -> int:
        """Side of a tile in pixels, overlap included."""
        return self.core + 2 * self.margin

    @property
    def rows(self) -> int:
        return math.ceil(self.height / self.core)

    @property
    def cols(self) -> int:
        return math.ceil(self.width / self.core)

    def __len__(self) -> int:
        return self.rows * self.cols

    def tile(self, row: int, col: int) -> Tile:
        return Tile(row, col, row * self.core - self.margin, col * self.core - self.margin, self.size)

    def row_tiles(self, row: int) -> list[Tile]:
        """All tiles of one grid row, left to right."""
        return [self.tile(row, c) for c in range(self.cols)]

    def __iter__(self) -> Iterator[Tile]:
        for r in range(self.rows):
            yield from self.row_tiles(r)

    def row_span(self, row: int) -> tuple[int, int]:
        """Raster rows ``[start, stop)`` read by grid row ``row`` (clipped to the raster)."""
        start = row * self.core - self.margin
        return max(start, 0), min(start + self.size, self.height)

    def final_rows(self, row: int) -> tuple[int, int]:
        """Raster rows ``[start, stop)`` that no later grid row touches once ``row`` is done."""
        start = 0 if row == 0 else row * self.core - self.margin
        stop = self.height if row == self.rows - 1 else (row + 1) * self.core - self.margin
        return start, min(stop, self.height)
