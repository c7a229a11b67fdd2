"""Crack networks of known geometry: meandering cracks, branches, random and sparse networks.

Cracks are :class:`~geowarn.harness.synthetic.cracks.CrackSpec` polylines in pixel coordinates
(col, row), pixel-centre convention; they avoid the terrain's visible stones when a terrain seed
is given, and a sparse network places its cracks so that about a chosen share of the tiles hold
one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from geowarn.harness.synthetic.cracks import CrackSpec, crack_bbox, crack_length_px, crack_mask
from geowarn.harness.synthetic.terrain import stone_cover

__all__ = ["branch_crack", "meandering_crack", "random_crack_network", "sparse_crack_network"]


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
