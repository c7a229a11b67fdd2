"""Crack networks of known geometry and their rendering into RGB windows.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from geowarn.harness.synthetic.terrain import hash_unit, stone_cover, value_noise

__all__ = [
    "ROUGHNESS_PX",
    "CrackSpec",
    "branch_crack",
    "crack_bbox",
    "crack_length_px",
    "crack_mask",
    "meandering_crack",
    "random_crack_network",
    "render_cracks",
    "sparse_crack_network",
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
# Network generation
# --------------------------------------------------------------------------------------------


def _inside(x: float, y: float, bbox: tuple[float, float, float, float]) -> bool:
    return bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]


_Blocked = Callable[[float, float], bool]


def _stone_blocker(terrain_seed: int, radius: float) -> _Blocked:
    """Whether a disc of ``radius`` around a point overlaps a visible stone of the terrain."""
    ang = np.linspace(0.0, 2.0 * np.pi, 12, endpoint=False)
    dx = np.concatenate([[0.0], radius * np.cos(ang)])
    dy = np.concatenate([[0.0], radius * np.sin(ang)])

    def blocked(x: float, y: float) -> bool:
        return bool(stone_cover(x + dx, y + dy, terrain_seed).max() > 0.25)

    return blocked


def _walk(
    rng: np.random.Generator,
    start: tuple[float, float],
    heading: float,
    length: float,
    bbox: tuple[float, float, float, float],
    blocked: _Blocked | None = None,
) -> list[tuple[float, float]]:
    """One-sided persistent random walk: slow meander, constant curvature, small zig-zags.

    With ``blocked``, steps that would run into an obstacle (a stone) turn aside when they can.
    """
    x, y = start
    pts = [(x, y)]
    drift = 0.0
    curv = rng.normal(0.0, 1.0 / 1500.0)
    travelled = 0.0
    while travelled < length:
        drift = 0.92 * drift + rng.normal(0.0, 0.07)
        direction = heading + curv * travelled + drift + rng.normal(0.0, 0.26)
        step = min(rng.uniform(3.0, 5.5), length - travelled + 0.5)
        nx, ny = x + step * math.cos(direction), y + step * math.sin(direction)
        if blocked is not None and blocked(nx, ny):
            sign = 1.0 if rng.random() < 0.5 else -1.0
            for dev in (0.35, -0.35, 0.7, -0.7, 1.05, -1.05):
                d2 = direction + sign * dev
                cx, cy = x + step * math.cos(d2), y + step * math.sin(d2)
                if _inside(cx, cy, bbox) and not blocked(cx, cy):
                    nx, ny = cx, cy
                    drift += 0.5 * sign * dev
                    break
        if not _inside(nx, ny, bbox):
            break
        x, y = nx, ny
        pts.append((x, y))
        travelled += step
    return pts


def meandering_crack(
    rng: np.random.Generator,
    start: tuple[float, float],
    heading: float,
    length: float,
    width_px: float,
    bbox: tuple[float, float, float, float],
    *,
    depth: float = 0.75,
    two_sided: bool = True,
    terrain_seed: int | None = None,
) -> CrackSpec:
    """Grow one meandering crack.

    Args:
        rng: Random generator.
        start: Seed point ``(col, row)``; the middle of the crack when ``two_sided``, else its start.
        heading: Mean direction in radians (0 = towards +col, pi/2 = towards +row).
        length: Target length in pixels (shorter when the walk leaves ``bbox``).
        width_px: Full width in pixels.
        bbox: ``(col0, row0, col1, row1)`` that the centreline must stay in.
        depth: Darkness 0..1.
        two_sided: Grow half the length each way from ``start``.
        terrain_seed: Seed of the terrain the crack will be drawn on; the crack then turns aside
            from the stones of that terrain instead of cutting through them.

    Returns:
        The crack (at least two points).

    """
    blocked = None if terrain_seed is None else _stone_blocker(terrain_seed, width_px / 2.0 + 1.5)
    if two_sided:
        fwd = _walk(rng, start, heading, length / 2.0, bbox, blocked)
        back = _walk(rng, start, heading + math.pi, length / 2.0, bbox, blocked)
        pts = back[::-1] + fwd[1:]
    else:
        pts = _walk(rng, start, heading, length, bbox, blocked)
    if len(pts) < 2:
        x, y = start
        pts = [(x, y), (x + math.cos(heading), y + math.sin(heading))]
    rounded = tuple((round(px, 3), round(py, 3)) for px, py in pts)
    return CrackSpec(points=rounded, width_px=float(width_px), depth=float(depth))


def _polyline_distances(pts: NDArray[np.float64], line: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distance of each point to a polyline."""
    a, ab = line[:-1][None], np.diff(line, axis=0)[None]
    l2 = np.maximum((ab * ab).sum(axis=2), 1e-12)
    t = np.clip(((pts[:, None] - a) * ab).sum(axis=2) / l2, 0.0, 1.0)
    q = a + t[:, :, None] * ab - pts[:, None]
    dist: NDArray[np.float64] = np.sqrt((q * q).sum(axis=2)).min(axis=1)
    return dist


def branch_crack(
    rng: np.random.Generator,
    parent: CrackSpec,
    bbox: tuple[float, float, float, float],
    width_range_px: tuple[float, float] = (3.0, 10.0),
    *,
    terrain_seed: int | None = None,
) -> CrackSpec:
    """Side branch that starts on an interior vertex of ``parent`` and diverges by 25-60 degrees.

    Branches that would run alongside their parent are retried with another start or direction.

    Args:
        rng: Random generator.
        parent: The crack to branch from.
        bbox: ``(col0, row0, col1, row1)`` that the branch stays in.
        width_range_px: The branch is 45-75 % of the parent width, not below the lower bound.
        terrain_seed: Seed of the terrain; the branch then goes around its stones.

    Returns:
        The branch.

    """
    p = np.asarray(parent.points)
    n = len(p)
    best: CrackSpec | None = None
    best_score = -np.inf
    for _attempt in range(6):
        k = int(rng.integers(max(1, n // 5), max(2, (4 * n) // 5)))
        k = min(max(k, 1), n - 2) if n >= 3 else 0
        a, b = p[max(k - 2, 0)], p[min(k + 2, n - 1)]
        local = math.atan2(b[1] - a[1], b[0] - a[0])
        heading = local + rng.choice([-1.0, 1.0]) * rng.uniform(0.45, 1.05)
        length = max(crack_length_px(parent) * rng.uniform(0.2, 0.5), 30.0)
        width = max(width_range_px[0], parent.width_px * rng.uniform(0.45, 0.75))
        start = (float(p[k, 0]), float(p[k, 1]))
        spec = meandering_crack(
            rng, start, heading, length, width, bbox, depth=parent.depth, two_sided=False, terrain_seed=terrain_seed
        )
        q = np.asarray(spec.points)
        arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(q, axis=0).T))])
        far = q[arc > 3.0 * parent.width_px + 10.0]
        if len(far) == 0:
            score = 0.0
        else:
            gap = _polyline_distances(far, p) - (parent.width_px + width) / 2.0
            score = float(gap.min())
        if score > best_score:
            best, best_score = spec, score
        if score > 6.0:
            break
    assert best is not None
    return best


def random_crack_network(
    rng: np.random.Generator,
    bbox: tuple[float, float, float, float],
    n_cracks: int,
    width_range_px: tuple[float, float] = (3.0, 10.0),
    length_range_px: tuple[float, float] = (150.0, 600.0),
    *,
    terrain_seed: int | None = None,
) -> list[CrackSpec]:
    """Random network of tension cracks roughly parallel to the slope contour, with a few branches.

    The contour is taken along the columns (rows increase downslope). About a third of the cracks
    after the first are branches that start on an earlier main crack.

    Args:
        rng: Random generator.
        bbox: ``(col0, row0, col1, row1)`` in pixels that the cracks stay in.
        n_cracks: Number of cracks returned (branches included).
        width_range_px: Range of full widths of main cracks (branches are narrower, not below the
            lower bound).
        length_range_px: Range of target lengths of main cracks.
        terrain_seed: Seed of the terrain; cracks then go around its stones.

    Returns:
        ``n_cracks`` crack specs.

    """
    contour = rng.normal(0.0, 0.15)
    mains: list[CrackSpec] = []
    out: list[CrackSpec] = []
    for _ in range(n_cracks):
        if mains and rng.random() < 0.33:
            out.append(
                branch_crack(rng, mains[int(rng.integers(len(mains)))], bbox, width_range_px, terrain_seed=terrain_seed)
            )
            continue
        width = rng.uniform(*width_range_px)
        margin = width / 2.0 + 2.0
        inner = (bbox[0] + margin, bbox[1] + margin, bbox[2] - margin, bbox[3] - margin)
        best: CrackSpec | None = None
        for _attempt in range(12):
            target = rng.uniform(*length_range_px)
            start = (rng.uniform(inner[0], inner[2]), rng.uniform(inner[1], inner[3]))
            heading = contour + rng.normal(0.0, 0.22)
            spec = meandering_crack(
                rng,
                start,
                heading,
                target,
                width,
                inner,
                depth=rng.uniform(0.6, 0.88),
                terrain_seed=terrain_seed,
            )
            if best is None or crack_length_px(spec) > crack_length_px(best):
                best = spec
            if crack_length_px(spec) >= min(length_range_px[0], 0.8 * target):
                break
        assert best is not None
        mains.append(best)
        out.append(best)
    return out


def sparse_crack_network(
    rng: np.random.Generator,
    width: int,
    height: int,
    *,
    tile: int,
    fraction: float,
    rng_seed: int,
    margin_px: float = 0.0,
    width_range_px: tuple[float, float] = (3.0, 10.0),
    length_range_px: tuple[float, float] = (150.0, 600.0),
    terrain_seed: int | None = None,
) -> list[CrackSpec]:
    """Cracks spread over a raster so that about ``fraction`` of its tiles contain crack pixels.

    Cracks are added one at a time at random places; the tiles each one touches are found from its
    exact truth mask (computed on the crack's own bounding box only), so memory stays small however
    large the raster is. A crack that would overshoot the target is retried shorter.

    Args:
        rng: Random generator.
        width: Raster width in pixels.
        height: Raster height in pixels.
        tile: Tile size in pixels.
        fraction: Target fraction of tiles with crack pixels (0..1).
        rng_seed: Seed later given to :func:`render_cracks` (the truth mask depends on it).
        margin_px: Distance from the raster edge that the cracks keep.
        width_range_px: Range of full widths.
        length_range_px: Range of target lengths of main cracks.
        terrain_seed: Seed of the terrain; cracks then go around its stones.

    Returns:
        The cracks, in rendering order.

    """
    n_ty, n_tx = -(-height // tile), -(-width // tile)
    target = round(fraction * n_ty * n_tx)
    covered: set[tuple[int, int]] = set()
    out: list[CrackSpec] = []
    m = margin_px + width_range_px[1] / 2.0 + 2.0
    bbox = (m, m, width - m, height - m)
    if target <= 0 or bbox[2] <= bbox[0] or bbox[3] <= bbox[1]:
        return out
    contour = rng.normal(0.0, 0.15)
    failures = 0
    while len(covered) < target and failures < 200:
        need = target - len(covered)
        lo, hi = length_range_px
        hi = min(hi, max(lo, 0.9 * tile * need))
        if out and rng.random() < 0.25:
            spec = branch_crack(rng, out[int(rng.integers(len(out)))], bbox, width_range_px, terrain_seed=terrain_seed)
        else:
            w = rng.uniform(*width_range_px)
            start = (rng.uniform(bbox[0], bbox[2]), rng.uniform(bbox[1], bbox[3]))
            length = rng.uniform(min(lo, hi), hi) if failures < 20 else rng.uniform(20.0, 0.6 * tile)
            spec = meandering_crack(
                rng,
                start,
                contour + rng.normal(0.0, 0.25),
                length,
                w,
                bbox,
                depth=rng.uniform(0.6, 0.88),
                terrain_seed=terrain_seed,
            )
        tiles = _tiles_touched(spec, len(out), rng_seed, tile, width, height)
        new = tiles - covered
        if not new or len(covered) + len(new) > target + max(1, round(0.02 * n_ty * n_tx)):
            failures += 1
            continue
        covered |= new
        out.append(spec)
    return out


def _tiles_touched(
    spec: CrackSpec, index: int, rng_seed: int, tile: int, width: int, height: int
) -> set[tuple[int, int]]:
    """Tiles ``(tile_row, tile_col)`` that contain at least one truth pixel of the crack."""
    c0, r0, c1, r1 = crack_bbox(spec, 1.0)
    c0, r0 = max(0, math.floor(c0)), max(0, math.floor(r0))
    c1, r1 = min(width, math.ceil(c1)), min(height, math.ceil(r1))
    if c1 <= c0 or r1 <= r0:
        return set()
    mask = crack_mask(spec, index, rng_seed, c0, r0, r1 - r0, c1 - c0)
    rows, cols = np.nonzero(mask)
    keys = np.unique(((rows + r0) // tile) * 1_000_003 + (cols + c0) // tile)
    return {(int(k // 1_000_003), int(k % 1_000_003)) for k in keys}


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
