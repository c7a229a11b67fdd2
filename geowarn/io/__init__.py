"""Raster input: opening, validation and windowed reading of orthomosaics."""

from geowarn.io.raster import RasterInfo, open_orthomosaic, read_rgb_window

__all__ = ["RasterInfo", "open_orthomosaic", "read_rgb_window"]
