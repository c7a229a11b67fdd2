"""Cracks of known geometry (:class:`CrackSpec`) and their rendering into RGB windows.

Networks of them are drawn by :mod:`geowarn.harness.synthetic.networks`.

A crack is a polyline centreline in pixel coordinates (col, row), using the pixel-centre convention:
pixel ``(c, r)`` covers ``[c, c + 1) x [r, r + 1)`` and its centre is ``(c + 0.5, r + 0.5)``. The truth
mask of a crack is the set of pixels whose centre lies within ``width_px / 2 + e(s, side)`` of the
polyline, where ``e`` is a smooth deterministic edge roughness of at most ``ROUGHNESS_PX`` that depends
on the arc length ``s`` and on the side of the centreline.

Rendering darkens the mask (shadowed interior, darker on the wall that faces away from the sun, crumbly
edges, ends that taper to a point inside the truth mask) and may brighten a thin rim just outside it.
Every random quantity derives from the crack index, the seed and global pixel coordinates, so the
result does not depend on how a raster is split into windows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from geowarn.harness.synthetic.terrain import hash_unit, value_noise

__all__ = [
    "ROUGHNESS_PX",
    "CrackSpec",
    "crack_bbox",
    "crack_length_px",
    "crack_mask",
    "render_cracks",
]

ROUGHNESS_PX = 0.45
"""Largest offset of a truth edge from ``width_px / 2`` (pixels)."""

_SUN = (-math.sqrt(0.5), -math.sqrt(0.5))  # towards the sun (north-west), in (col, row)
_RIM_MAX_PX = 3.5


@dataclass(frozen=True)
class CrackSpec:
    """Geometry of one crack.

    Attributes:
        points: Centreline vertices ``(col, row)`` in pixel coordinates (pixel-centre convention).
        width_px: Nominal full width in pixels.
        depth: Darkness of the interior, 0 (invisible) to 1 (black).

    """

    points: tuple[tuple[float, float], ...]
    width_px: float
    depth: float = 0.75


def crack_length_px(spec: CrackSpec) -> float:
    """Length of the centreline polyline in pixels."""
    p = np.asarray(spec.points, dtype=np.float64)
    if len(p) < 2:
        return 0.0
    return float(np.hypot(*np.diff(p, axis=0).T).sum())


def crack_bbox(spec: CrackSpec, pad: float = 0.0) -> tuple[float, float, float, float]:
    """Bounding box ``(col0, row0, col1, row1)`` of the centreline grown by half the width and ``pad``."""
    p = np.asarray(spec.points, dtype=np.float64)
    g = spec.width_px / 2.0 + ROUGHNESS_PX + pad
    return (float(p[:, 0].min() - g), float(p[:, 1].min() - g), float(p[:, 0].max() + g), float(p[:, 1].max() + g))


# --------------------------------------------------------------------------------------------
# Geometry and rendering
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """Per-crack quantities sampled every pixel of arc length (independent of any window)."""

    length: float
    s: NDArray[np.float64]
    edge_left: NDArray[np.float64]
    edge_right: NDArray[np.float64]
    shade: NDArray[np.float64]
    rim: float
    seed: int


@lru_cache(maxsize=4096)
def _profile(spec: CrackSpec, index: int, rng_seed: int) -> _Profile:
    rng = np.random.default_rng([rng_seed & 0xFFFFFFFF, index, 0x5EED])
    length = crack_length_px(spec)
    s = np.arange(0.0, length + 2.0, 1.0)

    def harmonics(amplitude: float, lam_lo: float, lam_hi: float, n: int) -> NDArray[np.float64]:
        amps = rng.uniform(0.5, 1.0, n)
        amps *= amplitude / amps.sum()
        lam = rng.uniform(lam_lo, lam_hi, n)
        ph = rng.uniform(0.0, 2.0 * np.pi, n)
        return np.asarray(sum(a * np.sin(2.0 * np.pi * s / lk + p) for a, lk, p in zip(amps, lam, ph, strict=True)))

    common = harmonics(0.5 * ROUGHNESS_PX, 25.0, 90.0, 2)  # width breathing
    edge_left = common + harmonics(0.5 * ROUGHNESS_PX, 5.0, 24.0, 3)
    edge_right = common + harmonics(0.5 * ROUGHNESS_PX, 5.0, 24.0, 3)
    shade = 1.0 + harmonics(0.16, 20.0, 150.0, 3)
    rim = float(rng.uniform(0.06, 0.16)) if rng.random() < 0.65 else 0.0
    return _Profile(length, s, edge_left, edge_right, shade, rim, int(rng.integers(1 << 30)))


@dataclass
class _Field:
    """Nearest-point data of one crack on a pixel rectangle."""

    dist: NDArray[np.float64]
    s: NDArray[np.float64]
    qx: NDArray[np.float64]
    qy: NDArray[np.float64]
    left: NDArray[np.bool_]


def _nearest(spec: CrackSpec, col0: int, row0: int, h: int, w: int, reach: float) -> _Field:
    """Distance, arc length, offset vector and side of the nearest centreline point per pixel.

    Pixels farther than ``reach`` from every segment get ``inf`` distance.
    """
    dist = np.full((h, w), np.inf)
    s_arr = np.zeros((h, w))
    qx_arr = np.zeros((h, w))
    qy_arr = np.zeros((h, w))
    left = np.zeros((h, w), dtype=bool)
    p = np.asarray(spec.points, dtype=np.float64)
    seg = np.diff(p, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    lo = np.minimum(p[:-1], p[1:]) - reach
    hi = np.maximum(p[:-1], p[1:]) + reach
    ca = np.maximum(np.floor(lo[:, 0] - 0.5).astype(np.int64) - col0, 0)
    ra = np.maximum(np.floor(lo[:, 1] - 0.5).astype(np.int64) - row0, 0)
    cb = np.minimum(np.ceil(hi[:, 0] - 0.5).astype(np.int64) + 1 - col0, w)
    rb = np.minimum(np.ceil(hi[:, 1] - 0.5).astype(np.int64) + 1 - row0, h)
    for k in np.nonzero((ca < cb) & (ra < rb))[0]:
        x0, y0 = p[k]
        dx, dy = seg[k]
        l2 = max(seg_len[k] ** 2, 1e-12)
        ys = np.arange(row0 + ra[k], row0 + rb[k]) + 0.5 - y0
        xs = np.arange(col0 + ca[k], col0 + cb[k]) + 0.5 - x0
        t = (xs[None, :] * dx + ys[:, None] * dy) / l2
        np.clip(t, 0.0, 1.0, out=t)
        qx = xs[None, :] - t * dx
        qy = ys[:, None] - t * dy
        d = np.sqrt(qx * qx + qy * qy)
        win = (slice(ra[k], rb[k]), slice(ca[k], cb[k]))
        better = d < dist[win]
        dist[win] = np.where(better, d, dist[win])
        s_arr[win] = np.where(better, cum[k] + t * seg_len[k], s_arr[win])
        qx_arr[win] = np.where(better, qx, qx_arr[win])
        qy_arr[win] = np.where(better, qy, qy_arr[win])
        left[win] = np.where(better, dx * qy - dy * qx >= 0.0, left[win])
    return _Field(dist, s_arr, qx_arr, qy_arr, left)


def _truth_halfwidth(spec: CrackSpec, prof: _Profile, f: _Field) -> NDArray[np.float64]:
    e_l = np.interp(f.s, prof.s, prof.edge_left)
    e_r = np.interp(f.s, prof.s, prof.edge_right)
    return spec.width_px / 2.0 + np.where(f.left, e_l, e_r)


def crack_mask(
    spec: CrackSpec, index: int, rng_seed: int, col0: int, row0: int, height: int, width: int
) -> NDArray[np.bool_]:
    """Truth mask of one crack on a pixel rectangle.

    Args:
        spec: The crack.
        index: Its index in the crack list (the edge roughness depends on it).
        rng_seed: Seed given to :func:`render_cracks`.
        col0: Global column of the rectangle's first pixel.
        row0: Global row of the rectangle's first pixel.
        height: Rectangle height.
        width: Rectangle width.

    Returns:
        Boolean ``(height, width)`` mask.

    """
    f = _nearest(spec, col0, row0, height, width, spec.width_px / 2.0 + ROUGHNESS_PX + 1.0)
    return f.dist < _truth_halfwidth(spec, _profile(spec, index, rng_seed), f)


def _point_polyline_distance(pt: NDArray[np.float64], p: NDArray[np.float64]) -> float:
    a, b = p[:-1], p[1:]
    ab = b - a
    l2 = np.maximum((ab * ab).sum(axis=1), 1e-12)
    t = np.clip(((pt - a) * ab).sum(axis=1) / l2, 0.0, 1.0)
    q = a + t[:, None] * ab - pt
    return float(np.sqrt((q * q).sum(axis=1)).min())


def _junction_ends(index: int, cracks: Sequence[CrackSpec], boxes: NDArray[np.float64]) -> tuple[bool, bool]:
    """Whether the start / end of crack ``index`` lies on another crack (then it does not taper)."""
    spec = cracks[index]
    flags = []
    for pt in (spec.points[0], spec.points[-1]):
        x, y = pt
        cand = np.nonzero((boxes[:, 0] <= x) & (boxes[:, 2] >= x) & (boxes[:, 1] <= y) & (boxes[:, 3] >= y))[0]
        hit = False
        for j in cand:
            if j == index:
                continue
            other = cracks[int(j)]
            if _point_polyline_distance(np.asarray(pt), np.asarray(other.points)) < other.width_px / 2.0 + 1.0:
                hit = True
                break
        flags.append(hit)
    return flags[0], flags[1]


def render_cracks(
    window_rgb: NDArray[np.uint8],
    window_col0: int,
    window_row0: int,
    cracks: Sequence[CrackSpec],
    rng_seed: int,
) -> NDArray[np.uint8]:
    """Draw the cracks that reach a window and return their truth mask there.

    Pass the full crack list of the raster to every window: the index of a crack in it seeds its
    edge roughness and shading, and crack ends that lie on another crack do not taper.

    Args:
        window_rgb: ``(H, W, 3)`` uint8 window, modified in place (a strided view is fine).
        window_col0: Global column of the window's first pixel.
        window_row0: Global row of the window's first pixel.
        cracks: All cracks of the raster, in rendering order.
        rng_seed: Seed of the per-crack randomness.

    Returns:
        ``(H, W)`` uint8 mask, 1 where a pixel centre lies inside a crack's truth outline.

    """
    h, w = window_rgb.shape[:2]
    mask = np.zeros((h, w), dtype=np.uint8)
    if not cracks:
        return mask
    pad = _RIM_MAX_PX + 2.0
    boxes = np.array([crack_bbox(c, pad) for c in cracks], dtype=np.float64)
    hit = (boxes[:, 0] < window_col0 + w) & (boxes[:, 2] > window_col0)
    hit &= (boxes[:, 1] < window_row0 + h) & (boxes[:, 3] > window_row0)
    for i in np.nonzero(hit)[0]:
        spec = cracks[int(i)]
        if len(spec.points) < 2 or spec.width_px <= 0:
            continue
        bc0, br0, bc1, br1 = boxes[i]
        c0 = max(math.floor(bc0) - window_col0, 0)
        r0 = max(math.floor(br0) - window_row0, 0)
        c1 = min(math.ceil(bc1) - window_col0, w)
        r1 = min(math.ceil(br1) - window_row0, h)
        if c1 <= c0 or r1 <= r0:
            continue
        sub = window_rgb[r0:r1, c0:c1]
        m = _render_one(sub, window_col0 + c0, window_row0 + r0, spec, int(i), cracks, boxes, rng_seed)
        mask[r0:r1, c0:c1] |= m
    return mask


def _render_one(
    sub: NDArray[np.uint8],
    col0: int,
    row0: int,
    spec: CrackSpec,
    index: int,
    cracks: Sequence[CrackSpec],
    boxes: NDArray[np.float64],
    rng_seed: int,
) -> NDArray[np.uint8]:
    """Render one crack into ``sub`` (whose first pixel is global ``(col0, row0)``)."""
    h, w = sub.shape[:2]
    prof = _profile(spec, index, rng_seed)
    half = spec.width_px / 2.0
    rim_w = min(_RIM_MAX_PX, 0.8 + 0.18 * spec.width_px)
    f = _nearest(spec, col0, row0, h, w, half + ROUGHNESS_PX + rim_w + 1.0)
    near = np.isfinite(f.dist)
    if not near.any():
        return np.zeros((h, w), dtype=np.uint8)
    truth = _truth_halfwidth(spec, prof, f)
    inside = f.dist < truth

    # Visible outline: tapers towards free ends and crumbles a little, always inside the truth.
    taper_len = max(1.2 * spec.width_px, 6.0)
    j0, j1 = _junction_ends(index, cracks, boxes)
    t0 = np.ones_like(f.s) if j0 else np.clip(f.s / taper_len, 0.0, 1.0)
    t1 = np.ones_like(f.s) if j1 else np.clip((prof.length - f.s) / taper_len, 0.0, 1.0)
    t = np.minimum(t0, t1)
    taper = 0.3 + 0.7 * t * t * (3.0 - 2.0 * t)
    crumble = value_noise(row0, col0, h, w, 2.3, prof.seed).astype(np.float64)
    vis = truth * taper - 0.55 * crumble * min(1.0, spec.width_px / 6.0)
    alpha = np.clip(vis - f.dist + 0.5, 0.0, 1.0)

    # Shading: darkest on the axis and on the wall turned away from the sun, with grainy debris.
    u = np.clip(f.dist / np.maximum(vis, 0.5), 0.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sun = np.where(f.dist > 1e-9, (f.qx * _SUN[0] + f.qy * _SUN[1]) / f.dist, 0.0)
    rows = np.arange(row0, row0 + h, dtype=np.int64)[:, None]
    cols = np.arange(col0, col0 + w, dtype=np.int64)[None, :]
    grain = 0.5 * hash_unit(rows, cols, prof.seed).astype(np.float64)
    grain += 0.5 * value_noise(row0, col0, h, w, 3.1, prof.seed + 1)
    dark = spec.depth * np.interp(f.s, prof.s, prof.shade)
    dark = dark * (0.62 + 0.38 * (1.0 - u * u)) * (1.0 + 0.28 * sun * u) * (0.8 + 0.4 * grain)
    np.clip(dark, 0.0, 0.94, out=dark)
    factor = 1.0 - alpha * dark

    # Lighter rim of dried soil just outside the visible edge.
    if prof.rim > 0.0:
        r = np.clip(1.0 - (f.dist - vis) / rim_w, 0.0, 1.0) * (f.dist > vis)
        factor *= 1.0 + prof.rim * r * (1.0 - alpha) * (1.0 - 0.4 * sun)

    rgb = sub.astype(np.float64) * factor[:, :, None]
    np.clip(rgb, 1.0, 255.0, out=rgb)
    sub[near] = np.rint(rgb[near]).astype(np.uint8)
    return inside.astype(np.uint8)
