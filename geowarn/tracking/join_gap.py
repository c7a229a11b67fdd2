"""Look across the gap before tracking joins a piece to the crack tip behind it.

The segmenter often delineates a growing crack's fresh end as a piece of its own, a few
centimetres beyond the old tip (``geowarn.tracking.match``). Geometry alone cannot tell that
from a separate crack that starts just ahead of an old one and in line with it; joining such a
crack credits its whole length to the old one as extension. What differs is the ground between:
across a crack segmented apart, the segmenter's probability only dipped under its threshold, or
the imagery still shows the dark line; between two separate cracks there is intact ground, with
neither. So a join needs, along the straight gap from tip to piece, a median crack probability
(the highest within ``radius_px`` of each point, as the look-back reads it) of at least
``min_probability`` or a median dark-line contrast (``geowarn.tracking.line_contrast``) of at
least ``min_contrast``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import rasterio
from numpy.typing import NDArray
from rasterio.windows import Window
from shapely.geometry import Point

from geowarn.tracking.line_contrast import relative_contrast, unit_normals
from geowarn.tracking.lookback import highest_within
from geowarn.tracking.rasters import LazyRaster
from geowarn.tracking.settings import TrackingSettings

log = logging.getLogger(__name__)


def _median(values: NDArray[np.float64]) -> float | None:
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else None


class GapEvidence:
    """A ``GapCheck`` on one survey: its orthomosaic (``image``) and the segmenter's ``probability`` raster.

    ``frame`` is the survey's shift into the site frame (site = survey + frame); the gap is sampled
    every ``spacing_m``. Evidence that cannot be read does not count against a join: with neither
    raster readable (or the gap off both), geometry decides, as without the check. Use it as a
    context manager: the rasters stay open between checks.
    """

    def __init__(
        self,
        image: Path,
        probability: Path | None,
        frame: tuple[float, float],
        spacing_m: float,
        *,
        min_contrast: float,
        min_probability: float,
        radius_px: float,
    ) -> None:
        self.frame, self.spacing_m = frame, spacing_m
        self.min_contrast, self.min_probability, self.radius_px = min_contrast, min_probability, radius_px
        self._image, self._probability = LazyRaster(image, "tip joins", log), LazyRaster(probability, "tip joins", log)

    @classmethod
    def for_survey(
        cls, image: Path, probability: Path | None, frame: tuple[float, float], gsd_m: float, settings: TrackingSettings
    ) -> GapEvidence:
        """The evidence check of one survey (``gsd_m``: its pixel size) with the site's tracking settings."""
        return cls(
            image,
            probability,
            frame,
            0.5 * gsd_m,
            min_contrast=settings.join_min_line_contrast,
            min_probability=settings.join_min_gap_prob,
            radius_px=settings.lookback_radius_px,
        )

    def __enter__(self) -> GapEvidence:
        return self

    def __exit__(self, *exc: object) -> None:
        self._image.close()
        self._probability.close()

    def _points(self, a: Point, b: Point) -> NDArray[np.float64]:
        n = max(2, int(np.ceil(a.distance(b) / self.spacing_m)) + 1)
        t = np.linspace(0.0, 1.0, n)[:, None]
        return np.asarray(np.array([a.x, a.y]) * (1.0 - t) + np.array([b.x, b.y]) * t, np.float64)

    def contrast(self, a: Point, b: Point) -> float | None:
        """Median relative line contrast along the segment ``a``-``b``; None where the imagery is not readable."""
        src = self._image.get()
        if src is None:
            return None
        points = self._points(a, b)
        return _median(relative_contrast(src, self.frame, points, unit_normals(points)))

    def probability(self, a: Point, b: Point) -> float | None:
        """Median crack probability (highest within the radius) along ``a``-``b``; None where not readable."""
        src = self._probability.get()
        if src is None:
            return None
        points = self._points(a, b)
        cols, rows = ~src.transform * (points[:, 0] - self.frame[0], points[:, 1] - self.frame[1])
        cols, rows = np.floor(np.asarray(cols)).astype(int), np.floor(np.asarray(rows)).astype(int)
        reach = max(0, round(self.radius_px))
        c0, r0 = cols.min() - reach, rows.min() - reach
        window = Window(c0, r0, cols.max() + reach - c0 + 1, rows.max() + reach - r0 + 1)
        full = Window(0, 0, src.width, src.height)
        try:
            window = window.intersection(full)
        except rasterio.errors.WindowError:
            return None  # the gap lies off the raster
        band = src.read(1, window=window, masked=True)
        prob = highest_within(np.asarray(band.filled(0), np.float32) / 255.0, self.radius_px)
        r, c = rows - int(window.row_off), cols - int(window.col_off)
        inside = (r >= 0) & (r < prob.shape[0]) & (c >= 0) & (c < prob.shape[1])
        values = np.full(len(points), np.nan)
        values[inside] = prob[r[inside], c[inside]]
        return _median(values)

    def __call__(self, a: Point, b: Point) -> bool:
        read_any = False
        for read, need in ((self.probability, self.min_probability), (self.contrast, self.min_contrast)):
            value = read(a, b) if need > 0 else None
            if value is not None:
                if value >= need:
                    return True  # the imagery is not read where the probability already shows crack
                read_any = True
        return not read_any
