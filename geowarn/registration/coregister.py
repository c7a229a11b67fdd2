"""Co-register a new survey of a site to the previous one (a translation in map coordinates).

GNSS georeferencing of two drone surveys of one site typically disagrees by decimetres up to a
metre; crack tracking needs them aligned to a pixel. The shift is estimated in two stages:

1. coarse: both surveys resampled over their common imaged area onto one grid of about 1024 px
   (decimated reads, overviews when present; the reference side reaches ``max_shift_m``
   further), illumination removed, phase correlation searched within twice ``max_shift_m`` so
   that a larger offset is reported as such rather than as "no match";
2. fine: up to ``max_patches`` textured patches spread over the overlap (``patch_px`` halved
   down to 64 px when the overlap is small), read at the reference's full resolution with the
   moving survey resampled onto the reference pixel grid at the current estimate; each patch is
   phase-correlated to sub-pixel and re-read until it converges. Estimates further than 3 MAD
   or 2 px from the median are rejected and the rest averaged.

When the coarse stage finds no clear peak (large changes at overview scale), the patches search
around zero shift within twice ``max_shift_m``; they must still agree.

Every "could not register" case returns ``ok=False`` with the reason in words and figures.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import rasterio
from numpy.typing import NDArray
from shapely import affinity
from shapely.geometry.base import BaseGeometry

from geowarn.errors import ConfigError
from geowarn.io.raster import RasterInfo, open_orthomosaic
from geowarn.logs import log_event
from geowarn.registration.overlap import Bounds, intersect, measure_overlap, same_crs
from geowarn.registration.phase import FLAT_CONTRAST, normalise, phase_correlate, similarity, taper
from geowarn.registration.sampling import Grid, raster_bounds, raster_res, read_on_grid

log = logging.getLogger(__name__)

#: Target size (px) of the long side of the coarse grid.
COARSE_SIDE_PX = 1024
#: The coarse grid never exceeds this many pixels on a side (a central part of the overlap is used).
COARSE_MAX_SIDE_PX = 4096
#: Correlation peak height (robust standard deviations) that unrelated images stay below (they reach ~10).
MIN_SIGNIFICANCE = 15.0
#: Smallest patch side (px) tried when the overlap is too small for ``patch_px`` patches.
MIN_PATCH_PX = 64
#: Patch estimates further than this from the median (reference px) are outliers, whatever the spread.
MAX_DEVIATION_PX = 2.0
#: Outlier threshold never drops below this (reference px), so tight clusters keep their members.
MIN_DEVIATION_PX = 0.2
#: Pixel quantisation floor of the uncertainty (reference px).
QUANTISATION_PX = 0.05
#: A patch estimate has converged when its last correction is below this (px).
CONVERGED_PX = 0.01
#: Re-reads of a patch at the updated shift.
MAX_ITERATIONS = 4
#: Share of imaged pixels (both surveys) a patch needs.
MIN_PATCH_VALID = 0.9


@dataclass(frozen=True)
class Registration:
    """Translation that brings the moving (new) survey onto the reference (previous) survey.

    Attributes:
        ok: whether a reliable shift was found.
        dx_m: add to the moving survey's map x to land on the reference (moving → reference),
            in metres (divide by ``crs_unit_m`` for CRS units; the same for metric CRSs).
        dy_m: add to the moving survey's map y.
        residual_m: 1-sigma radial uncertainty of the shift: spread of the agreeing patch
            estimates / sqrt(n), combined with a 0.05 px quantisation floor; NaN when not ok.
        n_patches: patches whose estimates agreed (inliers), also when too few agreed.
        n_tried: patches correlated.
        overlap_fraction: common imaged area / imaged area of the moving survey.
        method: how the shift was estimated.
        reason: why registration failed (None when ok).
        crs_unit_m: metres per CRS unit (1.0 for metric CRSs); shifts are reported in metres.

    """

    ok: bool
    dx_m: float
    dy_m: float
    residual_m: float
    n_patches: int
    n_tried: int
    overlap_fraction: float
    method: str
    reason: str | None
    crs_unit_m: float = 1.0

    @property
    def shift_m(self) -> float:
        """Length of the shift in metres."""
        return math.hypot(self.dx_m, self.dy_m)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly fields (NaN becomes None)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
        return out

    def apply(self, geom: BaseGeometry) -> BaseGeometry:
        """Move a geometry in the moving survey's map coordinates onto the reference survey's."""
        return affinity.translate(geom, self.dx_m / self.crs_unit_m, self.dy_m / self.crs_unit_m)


@dataclass(frozen=True)
class _Survey:
    info: RasterInfo
    src: rasterio.io.DatasetReader


@dataclass(frozen=True)
class _Coarse:
    shift: tuple[float, float]  # map units
    significance: float
    grid: Grid
    contrast: NDArray[np.float32]  # reference local contrast on the coarse grid
    ref_valid: NDArray[np.bool_]  # reference imaged, on the coarse grid


@dataclass(frozen=True)
class _Patch:
    shift: tuple[float, float]  # map units
    significance: float
    similarity: float


def _failure(
    reason: str,
    *,
    overlap: float = 0.0,
    n_patches: int = 0,
    n_tried: int = 0,
    method: str = "phasecorr-coarse+patches",
    unit: float = 1.0,
) -> Registration:
    return Registration(False, math.nan, math.nan, math.nan, n_patches, n_tried, overlap, method, reason, unit)


def _warp_command(reference: RasterInfo, moving: RasterInfo) -> str:
    out = moving.path.with_name(f"{moving.path.stem}_{reference.crs_name.replace(':', '').lower()}.tif")
    return (
        f'gdalwarp -t_srs {reference.crs_name} -r bilinear -co TILED=YES -co COMPRESS=DEFLATE "{moving.path}" "{out}"'
    )


def _coarse_grid(box: Bounds, res: float) -> Grid:
    """Coarse grid over ``box``, restricted to its central part when it would be too large."""
    left, bottom, right, top = box
    half = COARSE_MAX_SIDE_PX * res / 2
    cx, cy = (left + right) / 2, (bottom + top) / 2
    left, right = max(left, cx - half), min(right, cx + half)
    bottom, top = max(bottom, cy - half), min(top, cy + half)
    return Grid.over((left, bottom, right, top), res)


def _coarse(ref: _Survey, mov: _Survey, box: Bounds, res: float, max_shift: float) -> _Coarse:
    grid = _coarse_grid(box, res)
    ref_gray, ref_valid = read_on_grid(ref.src, ref.info, grid, interpolation=cv2.INTER_LINEAR)
    mov_gray, mov_valid = read_on_grid(mov.src, mov.info, grid, interpolation=cv2.INTER_LINEAR)
    ref_norm, contrast = normalise(ref_gray, ref_valid)
    mov_norm, _ = normalise(mov_gray, mov_valid)
    found = phase_correlate(ref_norm, mov_norm, taper(ref_valid), taper(mov_valid), 2.0 * max_shift / res + 2)
    shift = (-found.dx * grid.transform.a, -found.dy * grid.transform.e)
    return _Coarse(shift, found.significance, grid, contrast, ref_valid)


def _fine_grid(ref: RasterInfo) -> Grid:
    """North-up grid at the reference resolution, on the reference pixels when it is north-up."""
    t = ref.transform
    if t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0:
        return Grid(t, ref.width, ref.height)
    return Grid.over(raster_bounds(ref), raster_res(ref))


def _patch_layout(fine: Grid, box: Bounds, size: int) -> list[tuple[int, int]]:
    """Top-left corners (fine-grid px) of non-overlapping ``size`` patches tiling ``box``, centred."""
    inv = ~fine.transform
    c0, r0 = inv * (box[0], box[3])
    c1, r1 = inv * (box[2], box[1])
    col0, row0 = math.ceil(min(c0, c1)), math.ceil(min(r0, r1))
    width, height = math.floor(max(c0, c1)) - col0, math.floor(max(r0, r1)) - row0
    nx, ny = max(0, width // size), max(0, height // size)
    off_x, off_y = col0 + (width - nx * size) // 2, row0 + (height - ny * size) // 2
    return [(off_x + i * size, off_y + j * size) for j in range(ny) for i in range(nx)]


def _choose_patches(
    fine: Grid,
    box: Bounds | None,
    coarse: _Coarse,
    valid: NDArray[np.bool_],
    patch_px: int,
    max_patches: int,
    min_patches: int,
) -> tuple[int, list[tuple[int, int]], int, int]:
    """Largest patch side (halving ``patch_px`` down to 64 px) that gives enough usable patches.

    Returns:
        (patch side, chosen top-left corners, candidate patches, flat candidates).

    """
    best: tuple[int, list[tuple[int, int]], int, int] = (patch_px, [], 0, 0)
    size = patch_px
    while box is not None:
        corners = _patch_layout(fine, box, size)
        chosen, n_flat = _select_patches(fine, size, corners, coarse, valid, max_patches)
        if len(chosen) > len(best[1]) or not best[1]:
            best = (size, chosen, len(corners), n_flat)
        if len(chosen) >= min(max_patches, min_patches + 1) or size // 2 < min(MIN_PATCH_PX, patch_px):
            break
        size //= 2
    return best


def _select_patches(
    fine: Grid,
    size: int,
    corners: list[tuple[int, int]],
    coarse: _Coarse,
    valid: NDArray[np.bool_],
    max_patches: int,
) -> tuple[list[tuple[int, int]], int]:
    """Textured, imaged patches spread over the overlap (``valid`` on the coarse grid); also the number of flat ones."""
    inv = ~coarse.grid.transform
    h, w = valid.shape
    scored: list[tuple[float, int, int, int]] = []
    n_flat = 0
    for col, row in corners:
        x0, y0 = fine.transform * (col, row)
        x1, y1 = fine.transform * (col + size, row + size)
        a0, b0 = inv * (x0, y0)
        a1, b1 = inv * (x1, y1)
        ca, cb = max(0, math.floor(min(a0, a1))), min(w, math.ceil(max(a0, a1)))
        ra, rb = max(0, math.floor(min(b0, b1))), min(h, math.ceil(max(b0, b1)))
        if cb <= ca or rb <= ra:
            continue
        imaged = valid[ra:rb, ca:cb]
        if imaged.mean() < MIN_PATCH_VALID:
            continue
        texture = float(np.median(coarse.contrast[ra:rb, ca:cb][imaged]))
        if texture < FLAT_CONTRAST:
            n_flat += 1
            continue
        scored.append((texture, col, row, len(scored)))
    if not scored:
        return [], n_flat
    # stratify: best patch of each cell of a k x k partition of the overlap, then the best of the rest
    k = max(1, math.ceil(math.sqrt(max_patches)))
    cols = [c for _, c, _, _ in scored]
    rows = [r for _, _, r, _ in scored]
    span_c, span_r = max(cols) - min(cols) + 1, max(rows) - min(rows) + 1
    best: dict[tuple[int, int], tuple[float, int, int, int]] = {}
    for item in scored:
        cell = ((item[1] - min(cols)) * k // span_c, (item[2] - min(rows)) * k // span_r)
        if cell not in best or item[0] > best[cell][0]:
            best[cell] = item
    chosen = sorted(best.values(), reverse=True)[:max_patches]
    taken = {item[3] for item in chosen}
    rest = sorted((item for item in scored if item[3] not in taken), reverse=True)
    chosen += rest[: max_patches - len(chosen)]
    return [(c, r) for _, c, r, _ in chosen], n_flat


def _fine(ref: _Survey, mov: _Survey, grid: Grid, start: tuple[float, float], search_px: float) -> _Patch | None:
    """Sub-pixel shift of one patch, re-reading the moving survey at each updated estimate."""
    ref_gray, ref_valid = read_on_grid(ref.src, ref.info, grid)
    ref_norm, _ = normalise(ref_gray, ref_valid)
    ref_weight = taper(ref_valid)
    a, e = grid.transform.a, grid.transform.e
    shift = start
    radius = search_px
    for _ in range(MAX_ITERATIONS):
        mov_gray, mov_valid = read_on_grid(mov.src, mov.info, grid, shift)
        if mov_valid.mean() < MIN_PATCH_VALID:
            return None
        mov_norm, _ = normalise(mov_gray, mov_valid)
        found = phase_correlate(ref_norm, mov_norm, ref_weight, taper(mov_valid), radius)
        if found.significance < MIN_SIGNIFICANCE:
            return None
        shift = (shift[0] - found.dx * a, shift[1] - found.dy * e)
        radius = 3.0
        if math.hypot(found.dx, found.dy) < CONVERGED_PX:
            break
    score = similarity(ref_norm, mov_norm, ref_weight * (mov_valid & ref_valid))
    return _Patch(shift, found.significance, score)


def _combine(patches: list[_Patch], res: float) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Mean of the agreeing estimates and the inlier mask (outliers beyond 3 MAD or 2 px from the median)."""
    shifts = np.array([p.shift for p in patches], np.float64)
    inliers = np.ones(len(patches), bool)
    for _ in range(2):
        centre = np.median(shifts[inliers], axis=0)
        dist = np.hypot(*(shifts - centre).T)
        mad = 1.4826 * float(np.median(dist[inliers]))
        limit = min(MAX_DEVIATION_PX * res, max(3.0 * mad, MIN_DEVIATION_PX * res))
        inliers = dist <= limit
        if not inliers.any():
            break
    return shifts[inliers].mean(axis=0) if inliers.any() else np.full(2, np.nan), inliers


def register_surveys(
    reference: Path | str,
    moving: Path | str,
    *,
    max_shift_m: float = 2.0,
    min_overlap: float = 0.3,
    coarse_gsd_m: float | None = None,
    patch_px: int = 512,
    max_patches: int = 16,
    min_patches: int = 3,
    reference_label: str | None = None,
) -> Registration:
    """Shift that brings the ``moving`` survey onto the ``reference`` survey of the same site.

    Args:
        reference: orthomosaic of the previous survey (the site's frame).
        moving: orthomosaic of the new survey.
        max_shift_m: largest plausible georeferencing offset between the surveys (ground metres).
        min_overlap: smallest share of the new survey's imaged area that must also be in the reference.
        coarse_gsd_m: pixel size of the coarse stage (default: ~1024 px over the overlap).
        patch_px: side of the fine patches in reference pixels (halved for small overlaps).
        max_patches: patches correlated at full resolution.
        min_patches: agreeing patches required.
        reference_label: how reasons name the reference survey (default: its file name), e.g. its date.

    Returns:
        The registration; ``ok=False`` with a ``reason`` when the surveys cannot be registered
        (different CRS, too little overlap, no texture, no consistent match, shift too large).

    Raises:
        InvalidRasterError: when either file is not a usable orthomosaic.
        ConfigError: for impossible options (e.g. ``max_patches`` < ``min_patches``).

    """
    _check_options(max_shift_m, min_overlap, coarse_gsd_m, patch_px, max_patches, min_patches)
    ref_info = open_orthomosaic(reference)
    mov_info = open_orthomosaic(moving)
    label = f"survey {reference_label}" if reference_label else f"reference survey {ref_info.path.name}"
    unit = ref_info.metres_per_unit * ref_info.scale_factor  # metres per CRS unit
    if not same_crs(ref_info, mov_info):
        return _report(
            ref_info,
            mov_info,
            _failure(
                f"the new survey is in {mov_info.crs_name} but the {label} is in {ref_info.crs_name}; "
                f"both must be in the site CRS. Fix: {_warp_command(ref_info, mov_info)}",
                unit=unit,
            ),
        )
    with rasterio.open(ref_info.path) as ref_src, rasterio.open(mov_info.path) as mov_src:
        ref, mov = _Survey(ref_info, ref_src), _Survey(mov_info, mov_src)
        result = _register(
            ref, mov, label, unit, max_shift_m, min_overlap, coarse_gsd_m, patch_px, max_patches, min_patches
        )
    return _report(ref_info, mov_info, result)


def _report(ref: RasterInfo, mov: RasterInfo, result: Registration) -> Registration:
    log_event(
        log,
        "registered survey" if result.ok else "survey not registered",
        level=logging.INFO if result.ok else logging.WARNING,
        reference=str(ref.path),
        moving=str(mov.path),
        **{k: v for k, v in result.to_dict().items() if k != "crs_unit_m"},
    )
    return result


def _check_options(
    max_shift_m: float,
    min_overlap: float,
    coarse_gsd_m: float | None,
    patch_px: int,
    max_patches: int,
    min_patches: int,
) -> None:
    problems = []
    if not max_shift_m > 0:
        problems.append(f"max_shift_m must be > 0 (got {max_shift_m})")
    if not 0 < min_overlap <= 1:
        problems.append(f"min_overlap must be in (0, 1] (got {min_overlap})")
    if coarse_gsd_m is not None and not coarse_gsd_m > 0:
        problems.append(f"coarse_gsd_m must be > 0 (got {coarse_gsd_m})")
    if patch_px < 32:
        problems.append(f"patch_px must be ≥ 32 (got {patch_px})")
    if min_patches < 1 or max_patches < min_patches:
        problems.append(f"need 1 ≤ min_patches ≤ max_patches (got {min_patches} and {max_patches})")
    if problems:
        raise ConfigError("invalid registration options: " + "; ".join(problems))


def _log_stages(
    coarse: _Coarse, coarse_gsd_m: float, unit: float, size: int, candidates: int, flat: int, patches: list[_Patch]
) -> None:
    log_event(
        log,
        "registration stages",
        level=logging.DEBUG,
        coarse_gsd_m=coarse_gsd_m,
        coarse_significance=coarse.significance,
        coarse_dx_m=coarse.shift[0] * unit,
        coarse_dy_m=coarse.shift[1] * unit,
        patch_px=size,
        candidates=candidates,
        flat=flat,
        matched=len(patches),
        significance=[round(p.significance, 1) for p in patches],
        similarity=[round(p.similarity, 3) for p in patches],
    )


def _register(
    ref: _Survey,
    mov: _Survey,
    label: str,
    unit: float,
    max_shift_m: float,
    min_overlap: float,
    coarse_gsd_m: float | None,
    patch_px: int,
    max_patches: int,
    min_patches: int,
) -> Registration:
    ground = ref.info.metres_per_unit  # ground metres per CRS unit
    overlap = measure_overlap(ref.src, ref.info, mov.src, mov.info)
    if overlap.bounds is None or overlap.fraction < min_overlap:
        return _failure(
            f"only {overlap.fraction:.0%} of the new survey overlaps the {label} (need ≥ {min_overlap:.0%}); "
            "check that both surveys are of the same site",
            overlap=overlap.fraction,
            unit=unit,
        )
    res = raster_res(ref.info)
    max_shift = max_shift_m / ground
    left, bottom, right, top = overlap.bounds
    if coarse_gsd_m is not None:
        coarse_res = coarse_gsd_m / ground
    else:
        coarse_res = max(max(right - left, top - bottom) / COARSE_SIDE_PX, res, raster_res(mov.info))
        coarse_res = min(coarse_res, patch_px * res / 8)
    # the reference side reaches max_shift further, so that shifted content is still in view
    reach = (left - max_shift, bottom - max_shift, right + max_shift, top + max_shift)
    coarse = _coarse(ref, mov, intersect(reach, raster_bounds(ref.info)) or overlap.bounds, coarse_res, max_shift)
    coarse_ok = coarse.significance >= MIN_SIGNIFICANCE
    start = coarse.shift if coarse_ok else (0.0, 0.0)
    method = "phasecorr-coarse+patches" if coarse_ok else "phasecorr-patches"
    search_m = 3 * coarse_res if coarse_ok else 2.0 * max_shift
    # patches lie where both surveys are imaged once the moving one is shifted
    mov_box = raster_bounds(mov.info)
    box = intersect(
        coarse.grid.bounds, (mov_box[0] + start[0], mov_box[1] + start[1], mov_box[2] + start[0], mov_box[3] + start[1])
    )
    fine = _fine_grid(ref.info)
    _, mov_valid = read_on_grid(mov.src, mov.info, coarse.grid, start, interpolation=cv2.INTER_LINEAR)
    valid = coarse.ref_valid & mov_valid
    size, chosen, n_candidates, n_flat = _choose_patches(fine, box, coarse, valid, patch_px, max_patches, min_patches)
    n_tried = len(chosen)
    fail = partial(_failure, overlap=overlap.fraction, n_tried=n_tried, method=method, unit=unit)
    if n_tried < min_patches:
        _log_stages(coarse, coarse_res * ground, unit, size, n_candidates, n_flat, [])
        if n_flat > n_candidates / 2:
            contrast = float(np.median(coarse.contrast[valid])) if valid.any() else 0.0
            return fail(
                f"the overlap with the {label} has too little texture to match ({n_flat} of {n_candidates} "
                f"patches of {size} px are flat, median contrast {contrast:.1%}): e.g. snow, water, or blank "
                "or saturated imagery"
            )
        return fail(
            f"the common imaged area with the {label} is too small or too patchy: {n_tried} usable "
            f"patches of {size} px (need ≥ {min_patches})"
        )
    search_px = min(size / 4, search_m / res + 2)
    patches = [p for col, row in chosen if (p := _fine(ref, mov, fine.window(col, row, size, size), start, search_px))]
    _log_stages(coarse, coarse_res * ground, unit, size, n_candidates, n_flat, patches)
    shift, inliers = _combine(patches, res) if patches else (np.full(2, np.nan), np.zeros(0, bool))
    n_in = int(inliers.sum())
    if n_in < min_patches or n_in < 0.5 * len(patches):
        coarse_text = f"overview correlation {coarse.significance:.0f} (unrelated images reach ~10)"
        if coarse_ok:
            coarse_text += f" for a shift of {math.hypot(*coarse.shift) * ground:.2f} m"
        cause = (
            "Most of the overlap is too flat to match (snow, water, blank imagery)"
            if n_flat > n_candidates / 2
            else "The surveys do not look alike: a different site, or the ground changed too much between them"
        )
        return fail(
            n_patches=n_in,
            reason=f"no consistent match with the {label}: {n_in} of {n_tried} patches agree (need ≥ {min_patches}; "
            f"{len(patches)} matched at all), {coarse_text}. {cause}",
        )
    good = np.array([p.shift for p in patches], np.float64)[inliers]
    spread = float(np.sqrt(good.var(axis=0, ddof=1).sum())) if n_in > 1 else 0.0
    residual = math.hypot(spread / math.sqrt(n_in), QUANTISATION_PX * res)
    shift_ground = math.hypot(*shift) * ground
    if shift_ground > max_shift_m:
        return fail(
            f"the best match with the {label} needs a shift of {shift_ground:.2f} m, more than the "
            f"{max_shift_m:.2f} m allowed (max_shift_m); check the GNSS/ground control of the new survey, "
            "or raise max_shift_m if such offsets are expected"
        )
    return Registration(
        ok=True,
        dx_m=float(shift[0]) * unit,
        dy_m=float(shift[1]) * unit,
        residual_m=residual * unit,
        n_patches=n_in,
        n_tried=n_tried,
        overlap_fraction=overlap.fraction,
        method=method,
        reason=None,
        crs_unit_m=unit,
    )
