"""Crack growth between surveys with 1-sigma uncertainties, acceleration and time of failure.

Uncertainties combine, in quadrature, the per-survey measurement uncertainty that detection
reports for each crack (pixel size plus segmentation spread), the segmentation variability of a
crack's tips between surveys (``tip_noise_m`` per survey) and, for changes of length, the
co-registration residual (a tip displaced by a registration error looks like extension).
Detection's length uncertainty has a relative part (``LENGTH_REL_UNC`` of the length, from the
centreline smoothing and tip correction) that is the same method bias in both surveys: it cancels
on the unchanged part of a crack and is applied to the change only; the endpoint part is not.

Detection itself varies between surveys (illumination, a fragment found once and missed once)
more than any per-crack formula can tell. Like the stable-terrain noise of DEM differencing, the
spread of the changes over all tracks of a survey pair (1.4826 x MAD about the median, so a few
truly growing cracks do not inflate it) is an empirical noise floor: each change's uncertainty
is at least that floor when enough tracks exist to estimate it.
A change is significant when it exceeds ``k`` sigma (``k`` = 2 by default, about 95 %).

Extension, the crack propagation that alerts, is not the difference of two lengths: a crack
detected in two pieces once and in one piece the next time, or found only in part under other
light, would look like growth. It is the length of the crack's current centreline that lies
beyond everything detected at that place in any earlier survey (its footprint), by more than a
tolerance (a few pixels plus the co-registration error). A crack seen whole once and in part
later does not extend when it is seen whole again; a tip that moves on leaves the footprint.
Short spurs off the side of a crack, where skeletons of a rough detection branch, do not count.

The inverse-velocity method (Fukuzono 1985) fits 1/v against time over three or more surveys and
extrapolates to 1/v = 0; its spread comes from Monte Carlo draws of the rates within their
uncertainties, so an estimate that rests on noisy rates says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from geowarn.tracking.match import free_tips
from geowarn.vectorize.features import LENGTH_REL_UNC


@dataclass(frozen=True)
class CrackMeasure:
    """Measurements of one crack in one survey (metres)."""

    length_m: float
    length_unc_m: float
    mean_width_m: float
    max_width_m: float
    width_unc_m: float
    area_m2: float


@dataclass(frozen=True)
class Change:
    """A change with its 1-sigma uncertainty, and as a rate per day in millimetres."""

    delta_m: float
    unc_m: float
    rate_mm_day: float
    rate_unc_mm_day: float
    significant: bool


@dataclass(frozen=True)
class TrackGrowth:
    """Growth of one track between two surveys."""

    days: float
    length_m: float
    length_unc_m: float
    max_width_m: float
    width_unc_m: float
    length: Change
    mean_width: Change
    max_width: Change
    area_m2: float
    area_unc_m2: float
    extension: Change

    @property
    def significant(self) -> bool:
        return (
            self.extension.significant
            or self.length.significant
            or self.max_width.significant
            or self.mean_width.significant
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _change(delta: float, unc: float, days: float, k_sigma: float) -> Change:
    return Change(delta, unc, 1000.0 * delta / days, 1000.0 * unc / days, abs(delta) > k_sigma * unc)


def _tip_unc(c: CrackMeasure) -> float:
    """The endpoint part of a crack's length uncertainty (the relative part removed)."""
    return math.sqrt(max(c.length_unc_m**2 - (LENGTH_REL_UNC * c.length_m) ** 2, 0.0))


def _totals(cracks: Sequence[CrackMeasure]) -> tuple[float, float, float, float, float, float, float]:
    """Summed length (with its endpoint uncertainty), length-weighted mean width, max width, width unc, area (unc)."""
    length = sum(c.length_m for c in cracks)
    length_unc = math.sqrt(sum(_tip_unc(c) ** 2 for c in cracks))
    mean_w = sum(c.mean_width_m * c.length_m for c in cracks) / length if length > 0 else 0.0
    widest = max(cracks, key=lambda c: c.max_width_m)
    area = sum(c.area_m2 for c in cracks)
    area_unc = math.sqrt(
        sum((c.length_m * c.width_unc_m) ** 2 + (c.mean_width_m * c.length_unc_m) ** 2 for c in cracks)
    )
    return length, length_unc, mean_w, widest.max_width_m, widest.width_unc_m, area, area_unc


def _tips(lines: BaseGeometry) -> list[Point]:
    """Free ends of a centreline network (points where exactly one segment ends)."""
    return [tip.point for tip in free_tips(lines, 0.0)]


class Extension(NamedTuple):
    """Length beyond a crack's footprint and how many free ends it moved (each with its own tip noise)."""

    length_m: float
    ends: int


def extension_beyond(
    current: BaseGeometry,
    footprint: BaseGeometry | None,
    tolerance_m: float,
    min_branch_m: float = 0.0,
    seen: BaseGeometry | None = None,
    min_tip_move_m: float = 0.0,
    alongside_m: float = 0.0,
) -> Extension:
    """Length of ``current`` (centrelines) farther than ``tolerance_m`` from ``footprint``.

    ``footprint`` holds the centrelines detected near the crack in every earlier survey. A piece
    that leaves the tolerance band at one of the footprint's tips is a tip moving on: it is
    credited with the ``tolerance_m`` it travelled inside the band. A piece that leaves the band
    away from the tips is a side branch and counts only when at least ``min_branch_m`` long
    (shorter ones are skeleton spurs of a wider or rougher detection). Pieces apart from the
    footprint count as they are. ``seen`` (polygons) covers parts that earlier imagery already
    showed as crack: they are taken off, and a piece covered whole counts nothing. Side
    branches are judged by their unseen remainder.

    A piece apart from the footprint that runs alongside it, within ``alongside_m`` of an earlier
    line and not beyond that line's ends, is the same crack (or the moving edge of a shadow or
    a rut) delineated a little to the side: only its part beyond that counts.

    A tip that moved less than ``min_tip_move_m`` (its significance level: the tip noise of two
    surveys times k) did not measurably move: across a network of many tips, each jittering
    just past the band, those moves would otherwise add up to growth that no tip has.

    ``ends`` counts the crack ends whose placement the extension rests on: one per tip moving
    on or side branch, two per piece apart from the footprint. Each is placed with its own
    segmentation noise, so a network whose many tips jitter a little is not measured as tightly
    as one tip that moved far.
    """
    if footprint is None or footprint.is_empty:
        outside, tips, band, beside = current, [], None, None
    else:
        band = footprint.buffer(tolerance_m)
        outside = current.difference(band)
        tips = _tips(footprint)
        beside = footprint.buffer(alongside_m, cap_style="flat") if alongside_m > tolerance_m else None
    if outside.is_empty:
        return Extension(0.0, 0)
    eps = 1e-6 * max(tolerance_m, 1.0)
    total, ends = 0.0, 0
    for piece in getattr(outside, "geoms", [outside]):
        apart = band is None or piece.distance(band) > eps
        if apart and beside is not None:
            piece = piece.difference(beside)
            if piece.is_empty:
                continue
        known = piece.intersection(seen).length if seen is not None else 0.0
        unseen = piece.length - known
        if unseen <= eps:
            continue
        piece_ends = 1
        if apart:
            credit, piece_ends = unseen, 2
        elif any(piece.distance(tip) <= 2.0 * tolerance_m + eps for tip in tips):
            moved = piece.length + tolerance_m
            credit = moved - known if moved >= min_tip_move_m else 0.0
        else:
            credit = unseen if unseen >= min_branch_m else 0.0
        if credit:
            total, ends = total + credit, ends + piece_ends
    return Extension(float(total), ends)


def line_shift(current: BaseGeometry, previous: BaseGeometry, reach_m: float, spacing_m: float) -> float | None:
    """Median distance from ``current`` to ``previous`` over the part of ``current`` within ``reach_m`` of it.

    A crack stays where it is: re-delineated under other light its centreline moves by a pixel or
    so. A shadow's edge moves with the sun and a line drawn on the other edge of a rut lies a
    rut's width away. None when no part of ``current`` lies within ``reach_m`` of ``previous``.
    """
    if current.is_empty or previous.is_empty:
        return None
    points = shapely.line_interpolate_point(current, np.arange(0.0, current.length + spacing_m / 2, spacing_m))
    distances = shapely.distance(points, previous)
    distances = distances[distances <= reach_m]
    return float(np.median(distances)) if len(distances) else None


def track_growth(
    before: Sequence[CrackMeasure],
    after: Sequence[CrackMeasure],
    days: float,
    registration_unc_m: float,
    k_sigma: float = 2.0,
    tip_noise_m: float = 0.0,
    extension_m: float | None = None,
    extension_ends: int = 1,
    tip_width_share: float = 0.0,
) -> TrackGrowth:
    """Growth of a track from the cracks it had before to those it has now (merges and splits summed).

    ``extension_m`` is the footprint extension (see ``extension_beyond``); without it the
    positive part of the length change stands in for it. ``extension_ends`` is the number of
    ends it moved: each adds the tip noise of both surveys to its uncertainty. A tip is placed no
    better than ``tip_width_share`` of the crack's mean width in that survey either: the end of a
    dark band 30 cm wide (a shadow, a rut, a gaping scarp) is not located to the pixel.

    Raises:
        ValueError: ``days`` is not positive, or a side has no cracks.

    """
    if days <= 0:
        raise ValueError(f"surveys must be at least a day apart to give rates, got {days} days")
    if not before or not after:
        raise ValueError("growth needs at least one crack on each side")
    l0, lu0, mw0, xw0, wu0, a0, au0 = _totals(before)
    l1, lu1, mw1, xw1, wu1, a1, au1 = _totals(after)
    delta = l1 - l0
    tip_var = max(tip_noise_m, tip_width_share * mw0) ** 2 + max(tip_noise_m, tip_width_share * mw1) ** 2
    length_unc = math.sqrt(lu0**2 + lu1**2 + tip_var + (LENGTH_REL_UNC * delta) ** 2 + registration_unc_m**2)
    length = _change(delta, length_unc, days, k_sigma)
    ext = max(delta, 0.0) if extension_m is None else extension_m
    tips = max(extension_ends, 1) * tip_var
    ext_unc = math.sqrt(tips + (LENGTH_REL_UNC * ext) ** 2 + registration_unc_m**2 + lu1**2)
    width_unc = math.hypot(wu0, wu1)
    return TrackGrowth(
        days=days,
        length_m=l1,
        length_unc_m=math.sqrt(sum(c.length_unc_m**2 for c in after)),
        max_width_m=xw1,
        width_unc_m=wu1,
        length=length,
        mean_width=_change(mw1 - mw0, width_unc, days, k_sigma),
        max_width=_change(xw1 - xw0, width_unc, days, k_sigma),
        area_m2=a1 - a0,
        area_unc_m2=math.hypot(au0, au1),
        extension=_change(ext, ext_unc, days, k_sigma),
    )


@dataclass(frozen=True)
class NoiseFloor:
    """Empirical 1-sigma spread of the changes of one survey pair (metres)."""

    length_m: float
    mean_width_m: float
    max_width_m: float
    n_tracks: int
    extension_m: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def robust_sigma(values: Sequence[float] | NDArray[np.float64]) -> float:
    """1.4826 x the median absolute deviation about the median (a 1-sigma spread that outliers do not inflate)."""
    v = np.asarray(values, dtype=float)
    return float(1.4826 * np.median(np.abs(v - np.median(v))))


def empirical_noise(growths: Sequence[TrackGrowth], min_tracks: int = 5) -> NoiseFloor | None:
    """The pair's noise floor from the spread of all tracks' changes; None with fewer than ``min_tracks``."""
    if len(growths) < min_tracks:
        return None
    return NoiseFloor(
        robust_sigma([g.length.delta_m for g in growths]),
        robust_sigma([g.mean_width.delta_m for g in growths]),
        robust_sigma([g.max_width.delta_m for g in growths]),
        len(growths),
        robust_sigma([g.extension.delta_m for g in growths]),
    )


def _floored(change: Change, floor: float, days: float, k_sigma: float) -> Change:
    return _change(change.delta_m, max(change.unc_m, floor), days, k_sigma)


def apply_noise_floor(growth: TrackGrowth, floor: NoiseFloor | None, k_sigma: float = 2.0) -> TrackGrowth:
    """``growth`` with each change's uncertainty raised to at least the pair's empirical floor."""
    if floor is None:
        return growth
    return replace(
        growth,
        length=_floored(growth.length, floor.length_m, growth.days, k_sigma),
        mean_width=_floored(growth.mean_width, floor.mean_width_m, growth.days, k_sigma),
        max_width=_floored(growth.max_width, floor.max_width_m, growth.days, k_sigma),
        extension=_floored(growth.extension, floor.extension_m, growth.days, k_sigma),
    )


@dataclass(frozen=True)
class Acceleration:
    """Change of a rate between consecutive survey pairs, in mm/day²."""

    value: float
    unc: float
    significant: bool


def acceleration(
    rate0: float, unc0: float, mid0: float, rate1: float, unc1: float, mid1: float, k_sigma: float = 2.0
) -> Acceleration:
    """Acceleration from two rates observed at interval midpoints ``mid0`` < ``mid1`` (days)."""
    dt = mid1 - mid0
    if dt <= 0:
        raise ValueError(f"rate midpoints must increase, got {mid0} then {mid1}")
    value, unc = (rate1 - rate0) / dt, math.hypot(unc0, unc1) / dt
    return Acceleration(value, unc, abs(value) > k_sigma * unc)


@dataclass(frozen=True)
class FailureEstimate:
    """Inverse-velocity time-of-failure estimate: median date and a 10-90 % window."""

    when: date
    low: date
    high: date
    confidence: float  # share of Monte Carlo draws in which the crack accelerates
    n_rates: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "when": self.when.isoformat(),
            "low": self.low.isoformat(),
            "high": self.high.isoformat(),
            "confidence": round(self.confidence, 3),
            "n_rates": self.n_rates,
        }


def inverse_velocity(
    origin: date,
    mid_days: Sequence[float],
    rates: Sequence[float],
    uncs: Sequence[float],
    *,
    draws: int = 2000,
    seed: int = 0,
    horizon_days: float = 3650.0,
) -> FailureEstimate | None:
    """Fukuzono's inverse-velocity extrapolation over two or more rates (three or more surveys).

    Args:
        origin: date that ``mid_days`` count from.
        mid_days: interval midpoints of the rates, in days after ``origin``.
        rates: extension or opening rates (mm/day), positive when the crack grows.
        uncs: their 1-sigma uncertainties.
        draws: Monte Carlo draws for the window.
        seed: random seed (estimates are reproducible).
        horizon_days: failure dates further than this after the last rate are treated as "none".

    Returns:
        The estimate, or None when the rates do not show acceleration towards failure in the
        central estimate (fewer than two positive rates, or 1/v not decreasing).

    """
    t = np.asarray(mid_days, dtype=float)
    v = np.asarray(rates, dtype=float)
    s = np.asarray(uncs, dtype=float)
    if len(t) < 2 or np.any(v <= 0):
        return None
    central = _failure_time(t, v)
    if central is None or central - t[-1] > horizon_days:
        return None
    rng = np.random.default_rng(seed)
    samples = v[None, :] + rng.standard_normal((draws, len(v))) * s[None, :]
    times = [ft for row in samples if np.all(row > 0) and (ft := _failure_time(t, row)) is not None]
    times = [ft for ft in times if ft - t[-1] <= horizon_days]
    confidence = len(times) / draws
    if not times:
        return None
    low, high = np.percentile(times, [10, 90])
    return FailureEstimate(
        when=origin + timedelta(days=central),
        low=origin + timedelta(days=float(low)),
        high=origin + timedelta(days=float(high)),
        confidence=confidence,
        n_rates=len(v),
    )


def _failure_time(t: np.ndarray, v: np.ndarray) -> float | None:
    """Time where the least-squares line through (t, 1/v) reaches zero, if it slopes down."""
    slope, intercept = np.polyfit(t, 1.0 / v, 1)
    if slope >= 0:
        return None
    return float(-intercept / slope)
