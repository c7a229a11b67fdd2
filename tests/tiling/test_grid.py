from __future__ import annotations

import itertools

import numpy as np
import pytest

from geowarn.tiling.grid import TileGrid


def test_grid_covers_raster_with_overlap() -> None:
    grid = TileGrid(width=1000, height=600, core=256, margin=16)
    assert (grid.rows, grid.cols, len(grid)) == (3, 4, 12)
    assert grid.size == 288
    cover = np.zeros((600, 1000), int)
    for tile in grid:
        r0, c0 = max(tile.row0, 0), max(tile.col0, 0)
        cover[r0 : tile.row0 + tile.size, c0 : tile.col0 + tile.size] += 1
    assert cover.min() >= 1
    # neighbours share 2 * margin pixels
    assert cover[:, 256 - 16 : 256 + 16].min() == 2


def test_cores_align_with_internal_blocks() -> None:
    grid = TileGrid(width=2048, height=2048, core=256, margin=16)
    for tile in grid:
        core_row, core_col = tile.row0 + grid.margin, tile.col0 + grid.margin
        assert core_row % 512 in (0, 256) and core_col % 256 == 0


def test_final_rows_partition_the_raster() -> None:
    grid = TileGrid(width=100, height=1000, core=256, margin=16)
    spans = [grid.final_rows(r) for r in range(grid.rows)]
    assert spans[0][0] == 0 and spans[-1][1] == 1000
    for (a0, a1), (b0, _) in itertools.pairwise(spans):
        assert a1 == b0 and a0 < a1
    for r, (start, stop) in enumerate(spans):
        read0, read1 = grid.row_span(r)
        assert read0 <= start and stop <= read1


def test_invalid_grid() -> None:
    with pytest.raises(ValueError, match="core"):
        TileGrid(10, 10, core=0)
