"""Crack opening measured from the ground on both sides of the crack, not from its segmented width.

The segmented width of a crack follows the light: a darker survey, a softer focus or a shadow
falling into a rut widens the mask although nothing on the ground moved, and a 2 cm pixel is as
wide as the openings that matter. A crack opens when the ground on its two sides moves apart. So
the opening is measured as geodesists measure displacement across a fault: at stations along the
crack's current centreline, a patch of ground on either side (beyond the crack's edges) is
located in both surveys by phase correlation, and the opening is the difference of the two
sides' displacements along the crack's normal. Both sides are measured in both surveys, so
co-registration errors, light, blur and JPEG changes are common to them and cancel; a station
whose ground has no texture to correlate does not count.

A track's opening is the median over its stations, with the spread of the stations as its
uncertainty. Across the cracks of a survey pair, the median opening (what moved every crack
alike: an imaging change, not the ground) is removed, and the spread of the openings is a floor
under each one's uncertainty, as for the other changes (``geowarn.tracking.growth``).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from rasterio.io import DatasetReader
from scipy.ndimage import map_coordinates
from shapely.geometry.base import BaseGeometry
from skimage.registration import phase_cross_correlation

from geowarn.tracking.growth import Change, robust_sigma
from geowarn.tracking.line_contrast import read_gray_around, unit_normals
from geowarn.tracking.marks import sample_lines
from geowarn.tracking.rasters import LazyRaster

log = logging.getLogger(__name__)

#: Side of the ground patches correlated on each side of the crack (pixels).
PATCH_PX = 24
#: Clear ground between the crack's edge and a patch (pixels).
EDGE_GAP_PX = 3.0
#: Stations along the centreline are this far apart (pixels); at most ``MAX_STATIONS`` per crack.
STATION_SPACING_PX = 12.0
MAX_STATIONS = 48
#: A patch needs this much grey-level spread (DN) to be located.
MIN_TEXTURE_DN = 4.0
#: A side displacement larger than this (pixels) is a failed correlation, not ground movement.
MAX_SHIFT_PX = 6.0
#: Correlations per patch: each after the first re-reads the later patch where the ground moved to.
REFINE_PASSES = 2
#: A crack's opening needs this many stations measured, and this share of its stations.
MIN_STATIONS = 3
MIN_STATION_SHARE = 0.5
#: Floor of a track's opening uncertainty (pixels): sub-pixel localisation of textured patches.
LOCATION_FLOOR_PX = 0.1


#: Taper of the patches before correlation (their borders would otherwise pull the shift to zero).
_HANN = np.outer(np.hanning(PATCH_PX), np.hanning(PATCH_PX))


@dataclass(frozen=True)
class OpeningMeasure:
    """Opening of one crack between two surveys (metres), before the survey pair's common mode."""

    delta_m: float
    unc_m: float
    stations: int
    measured: int


def _window(
    src: DatasetReader, frame: tuple[float, float], centres: NDArray[np.float64], reach_px: float
) -> tuple[NDArray[np.float64] | None, NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Grey levels and validity around site-frame ``centres``, for patches moved by up to ``reach_px``."""
    return read_gray_around(src, frame, centres, math.ceil(PATCH_PX / 2.0 + reach_px) + 2)


def _patches(
    window: tuple[NDArray[np.float64] | None, NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
    moved_px: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Axis-aligned ``PATCH_PX`` grey patches of a ``_window`` around its centres; which are whole.

    ``moved_px``: (x east, y north) pixel shifts of the centres (columns right, rows up).
    """
    gray, valid, cols, rows = window
    if moved_px is not None:
        cols, rows = cols + moved_px[:, 0], rows - moved_px[:, 1]
    half = PATCH_PX / 2.0
    grid = np.arange(PATCH_PX, dtype=np.float64) - half + 0.5
    out = np.zeros((len(cols), PATCH_PX, PATCH_PX))
    whole = np.zeros(len(cols), bool)
    if gray is None:
        return out, whole
    gr, gc = np.meshgrid(grid, grid, indexing="ij")
    for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
        coords = [r + gr, c + gc]
        inside = map_coordinates(valid, coords, order=0, mode="constant", cval=0.0)
        if inside.min() < 1.0:
            continue
        out[i] = map_coordinates(gray, coords, order=1, mode="nearest")
        whole[i] = True
    return out, whole


def _shift(before: NDArray[np.float64], after: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """Displacement (x east, y north; pixels) of the ground from ``before`` to ``after``; None if unlocatable."""
    if before.std() < MIN_TEXTURE_DN or after.std() < MIN_TEXTURE_DN:
        return None
    a, b = (_HANN * (p - p.mean()) for p in (before, after))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        shift, _, _ = phase_cross_correlation(a, b, upsample_factor=20, normalization=None)
    d_row, d_col = -float(shift[0]), -float(shift[1])
    if math.hypot(d_row, d_col) > MAX_SHIFT_PX:
        return None
    return np.array([d_col, -d_row])


def station_openings(
    before: DatasetReader,
    before_frame: tuple[float, float],
    after: DatasetReader,
    after_frame: tuple[float, float],
    points: NDArray[np.float64],
    normals: NDArray[np.float64],
    offset_m: float,
) -> NDArray[np.float64]:
    """Opening (map units) at each station: the normal displacement of the far side minus the near side.

    ``points`` are site-frame stations on the crack's centreline with unit ``normals`` (x, y);
    the patches are centred ``offset_m`` from the centreline on each side. NaN where a side's
    ground cannot be located in either survey.
    """
    gsd = abs(after.transform.a)
    found = []
    for sign in (1.0, -1.0):
        side = points + sign * offset_m * normals
        p0, w0 = _patches(_window(before, before_frame, side, 0.0))
        later = _window(after, after_frame, side, MAX_SHIFT_PX)  # read once, sampled where the ground moved
        shifts = np.zeros((len(points), 2))
        ok = w0.copy()
        for _ in range(REFINE_PASSES):
            p1, w1 = _patches(later, shifts)
            ok &= w1
            for i in np.flatnonzero(ok):
                d = _shift(p0[i], p1[i])
                if d is None:
                    ok[i] = False
                else:
                    shifts[i] += d
        ok &= np.hypot(shifts[:, 0], shifts[:, 1]) <= MAX_SHIFT_PX
        found.append(np.where(ok[:, None], shifts, np.nan))
    relative = found[0] - found[1]
    return np.asarray((relative * normals).sum(axis=1) * gsd, np.float64)


def measure_opening(
    before: DatasetReader,
    before_frame: tuple[float, float],
    after: DatasetReader,
    after_frame: tuple[float, float],
    centreline: BaseGeometry,
    mean_width_m: float,
) -> OpeningMeasure:
    """Opening of a crack along its current site-frame ``centreline`` from the ``before`` to the ``after`` survey."""
    gsd = abs(after.transform.a)
    _, lines = sample_lines(centreline, STATION_SPACING_PX * gsd)
    stations, normals = [], []
    for pts in lines:
        stations.append(pts)
        normals.append(unit_normals(pts))
    points, dirs = np.concatenate(stations), np.concatenate(normals)
    if len(points) > MAX_STATIONS:
        keep = np.linspace(0, len(points) - 1, MAX_STATIONS).round().astype(int)
        points, dirs = points[keep], dirs[keep]
    offset = mean_width_m / 2.0 + (EDGE_GAP_PX + PATCH_PX / 2.0) * gsd
    values = station_openings(before, before_frame, after, after_frame, points, dirs, offset)
    values = values[np.isfinite(values)]
    n = len(values)
    if n < max(MIN_STATIONS, MIN_STATION_SHARE * len(points)):
        return OpeningMeasure(math.nan, math.nan, len(points), n)
    unc = max(1.2533 * robust_sigma(values) / math.sqrt(n), LOCATION_FLOOR_PX * gsd)
    return OpeningMeasure(float(np.median(values)), unc, len(points), n)


@dataclass(frozen=True)
class PairOpening:
    """Openings of a survey pair's cracks with the common mode removed and the spread as a floor."""

    common_mode_m: float
    floor_m: float
    n_tracks: int


def pair_opening(measures: Sequence[OpeningMeasure], min_tracks: int) -> PairOpening:
    """Common mode (median) and empirical floor (1.4826 MAD) of the measured openings of a survey pair."""
    values = np.array([m.delta_m for m in measures if math.isfinite(m.delta_m)])
    if len(values) < min_tracks:
        return PairOpening(0.0, 0.0, len(values))
    return PairOpening(float(np.median(values)), robust_sigma(values), len(values))


def opening_change(
    measure: OpeningMeasure | None, pair: PairOpening, days: float, k_sigma: float, detection_m: float = 0.0
) -> Change | None:
    """The opening as a ``Change`` (common mode removed, floored); None when the ground could not be located.

    It is significant beyond ``k_sigma`` uncertainties and at least ``detection_m`` (the level of
    detection: the edges of bright objects and shadows shift with the light by a fraction of a
    pixel consistently along a line, which no spread of the stations reveals).
    """
    if measure is None or not math.isfinite(measure.delta_m):
        return None
    delta = measure.delta_m - pair.common_mode_m
    unc = max(measure.unc_m, pair.floor_m)
    significant = abs(delta) > k_sigma * unc and abs(delta) >= detection_m
    return Change(delta, unc, 1000.0 * delta / days, 1000.0 * unc / days, significant)


class OpeningGauge:
    """Measures openings between the current survey and earlier ones; rasters stay open until ``close``.

    ``current`` is the current survey's orthomosaic and ``frame`` its shift into the site frame. An
    earlier survey that cannot be read gives no measure (with one warning): its cracks' opening is
    then not measured, never assumed.
    """

    def __init__(self, current: Path, frame: tuple[float, float]) -> None:
        self.current, self.frame = current, frame
        self._rasters: dict[Path, LazyRaster] = {}

    def __enter__(self) -> OpeningGauge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for raster in self._rasters.values():
            raster.close()
        self._rasters.clear()

    def _get(self, path: Path) -> DatasetReader | None:
        if path not in self._rasters:
            self._rasters[path] = LazyRaster(path, "opening measurements", log)
        return self._rasters[path].get()

    def measure(
        self, earlier: Path, earlier_frame: tuple[float, float], centreline: BaseGeometry, mean_width_m: float
    ) -> OpeningMeasure | None:
        """Opening along the current site-frame ``centreline`` since the ``earlier`` survey."""
        before, after = self._get(earlier), self._get(self.current)
        if before is None or after is None or centreline.is_empty:
            return None
        return measure_opening(before, earlier_frame, after, self.frame, centreline, mean_width_m)
