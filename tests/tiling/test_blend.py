from __future__ import annotations

import numpy as np
import pytest

from geowarn.tiling.blend import RowBlender, blend_weights
from geowarn.tiling.grid import TileGrid


def test_weights_sum_to_one_across_overlap() -> None:
    w = blend_weights(96, 16)[48]  # a row through the middle
    # tile B starts 64 px after tile A: overlap 32 px
    overlap = w[64:] + w[:32]
    assert np.allclose(overlap, 1.0, atol=1e-6)
    assert w.min() > 0


@pytest.mark.parametrize(("height", "width"), [(200, 300), (64, 64), (257, 513)])
def test_blend_reproduces_a_global_field_without_seams(height: int, width: int) -> None:
    grid = TileGrid(width=width, height=height, core=64, margin=8)
    yy, xx = np.mgrid[-8 : grid.rows * 64 + 8, -8 : grid.cols * 64 + 8]
    field = (np.sin(xx / 17.0) * np.cos(yy / 11.0) + 1).astype(np.float32) / 2
    blender = RowBlender(grid)
    out = np.zeros((height, width), np.float32)
    for r in range(grid.rows):
        for tile in grid.row_tiles(r):
            y, x = tile.row0 + 8, tile.col0 + 8
            blender.add(r, tile.col, field[y : y + grid.size, x : x + grid.size])
        row0, rows = blender.finish_row()
        out[row0 : row0 + len(rows)] = rows
    assert np.allclose(out, field[8 : 8 + height, 8 : 8 + width], atol=1e-5)


def test_tiles_left_out_do_not_dilute_neighbours() -> None:
    grid = TileGrid(width=128, height=64, core=64, margin=8)
    blender = RowBlender(grid)
    blender.add(0, 0, np.full((grid.size, grid.size), 0.8, np.float32))  # tile 1 gated out: not added
    _, rows = blender.finish_row()
    assert np.allclose(rows[:, : 64 + 8], 0.8)  # its overlap keeps the full value
    assert np.all(rows[:, 64 + 8 :] == 0)


def test_rows_must_be_added_in_order() -> None:
    blender = RowBlender(TileGrid(64, 64, core=32, margin=4))
    with pytest.raises(ValueError, match="row"):
        blender.add(1, 0, np.zeros((40, 40), np.float32))
