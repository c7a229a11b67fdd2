"""Relative radiometric normalisation: an earlier survey's window brought to the current survey's light."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from numpy.typing import NDArray
from rasterio.windows import Window, from_bounds
from skimage.exposure import match_histograms

from geowarn.io.raster import open_orthomosaic, read_rgb_window

#: Smallest overlap with the current survey used to match the light.
MIN_MATCH_PX = 32


class Radiometry:
    """The current survey's imagery, to bring an earlier window to the same light before segmenting it.

    Relative radiometric normalisation, as in image change detection: each band of the earlier
    window is histogram-matched to the same ground in the current survey, so that a faint crack
    the current light reveals is judged under that light in the earlier survey too.
    """

    def __init__(self, path: Path, frame: tuple[float, float]) -> None:
        """The current survey's orthomosaic at ``path``, shifted by ``frame`` into the site frame."""
        self.path, self.frame = path, frame
        self.info = open_orthomosaic(path)
        self.src = rasterio.open(path)

    def close(self) -> None:
        self.src.close()

    def match(self, rgb: NDArray[np.uint8], bounds: tuple[float, float, float, float]) -> NDArray[np.uint8]:
        """``rgb`` (covering site-frame ``bounds``) matched to the current survey's histogram there."""
        left, bottom, right, top = bounds
        dx, dy = self.frame
        window = from_bounds(left - dx, bottom - dy, right - dx, top - dy, self.info.transform)
        window = window.round_offsets().round_lengths().intersection(Window(0, 0, self.info.width, self.info.height))
        if window.width < MIN_MATCH_PX or window.height < MIN_MATCH_PX:
            return rgb
        reference, valid = read_rgb_window(self.src, self.info, window)
        if valid.mean() < 0.5:
            return rgb
        matched = np.asarray(match_histograms(rgb, reference[valid][None], channel_axis=-1), np.float64)
        return np.clip(matched, 0, 255).astype(np.uint8)
