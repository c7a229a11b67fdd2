"""Tile grids over rasters and smooth blending of overlapping tile outputs."""

from geowarn.tiling.blend import RowBlender, blend_weights
from geowarn.tiling.grid import Tile, TileGrid

__all__ = ["RowBlender", "Tile", "TileGrid", "blend_weights"]
