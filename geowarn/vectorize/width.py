"""Local crack width at skeleton pixels: PCA normals and sub-pixel mask profiles."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["FAN_DEG", "SHIFT_PX", "chord_widths", "local_normals", "ray_exits"]

#: Samples taken on each side of a chord profile per round.
_BLOCK = 8
#: Profiles sampled per call, to bound memory.
_ROW_CHUNK = 1 << 16
#: A sample this close to a crack pixel, less the pixel's radius, has four crack neighbours.
_TRACE_MARGIN = 1.5 * math.sqrt(2.0) + 1e-9
#: Rounds of extending the all-crack stretch of each profile by the distance transform.
_TRACE_ROUNDS = 4
#: Rays sampled per chunk.
_RAY_CHUNK = 2048
#: Turns of the normal (degrees) sampled for the robust maximum width; 0 must come first.
FAN_DEG = (0.0, -20.0, -10.0, 10.0, 20.0)
#: Offset (px) of the two parallel chords averaged for each direction.
SHIFT_PX = 0.25


def local_normals(
    skel: NDArray[np.bool_], rows: NDArray[np.int64], cols: NDArray[np.int64], radius: int = 3
) -> NDArray[np.float64]:
    """Unit normals (drow, dcol) from the PCA of skeleton pixels in a square neighbourhood.

    Args:
        skel: Skeleton image with at least ``radius`` empty pixels around every skeleton pixel.
        rows: Rows of the pixels to evaluate.
        cols: Columns of the pixels to evaluate.
        radius: Half side of the neighbourhood.

    Returns:
        (N, 2) normals perpendicular to the local principal axis.

    """
    moments = np.zeros((6, rows.size))
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            w = skel[rows + dr, cols + dc].astype(np.float64)
            moments += w * np.array([1.0, dr, dc, dr * dr, dc * dc, dr * dc])[:, None]
    s0, sr, sc, srr, scc, src = moments
    mr, mc = sr / s0, sc / s0
    c_rr, c_cc, c_rc = srr / s0 - mr * mr, scc / s0 - mc * mc, src / s0 - mr * mc
    theta = 0.5 * np.arctan2(2.0 * c_rc, c_cc - c_rr)  # principal axis angle from the column axis
    return np.stack([np.cos(theta), -np.sin(theta)], axis=1)


@dataclass
class _Profiles:
    """Sampling lines of the chords: sample ``k`` of line ``i`` is at ``(r0, c0) + k * step * (d_r, d_c)``.

    Coordinates are in each line's window, which starts at ``origin`` in the sampled mask.
    """

    r0: NDArray[np.float64]
    c0: NDArray[np.float64]
    d_r: NDArray[np.float64]
    d_c: NDArray[np.float64]
    origin: NDArray[np.int64]
    reach_k: NDArray[np.int64]
    step: float


@dataclass
class _Grid:
    """A 0/1 mask flattened for bilinear sampling, with its all-crack cells.

    Attributes:
        values: The mask, raveled.
        full: Whether the four pixels ``(i, j)`` to ``(i + 1, j + 1)`` are all crack, raveled.
        width: Row length of the mask.

    """

    values: NDArray[np.uint8]
    full: NDArray[np.bool_]
    width: int

    @classmethod
    def of(cls, mask: NDArray[np.uint8]) -> _Grid:
        """Grid of a 0/1 mask."""
        m = mask.astype(bool)
        full = np.zeros_like(m)
        full[:-1, :-1] = m[:-1, :-1] & m[:-1, 1:] & m[1:, :-1] & m[1:, 1:]
        return cls(np.ascontiguousarray(mask).ravel(), full.ravel(), mask.shape[1])

    def sample(self, r: NDArray[np.float64], c: NDArray[np.float64], origin: NDArray[np.int64]) -> NDArray[np.float64]:
        """Bilinear values at window coordinates ``(r, c)``, as ``scipy.ndimage.map_coordinates`` (order 1).

        Points must lie at least one pixel inside the mask. Points in all-crack cells are 1.
        """
        fr, fc = np.floor(r), np.floor(c)
        w = self.width
        idx = (fr.astype(np.int64) + origin[:, :1]) * w + fc.astype(np.int64) + origin[:, 1:]
        idx = np.clip(idx, 0, self.values.size - w - 2)
        vals = np.ones(r.shape)
        mixed = ~self.full[idx]
        i = idx[mixed]
        wr0 = 1.0 - (r - fr)[mixed]
        wc0 = 1.0 - (c - fc)[mixed]
        wr1, wc1 = 1.0 - wr0, 1.0 - wc0
        v = self.values
        vals[mixed] = v[i] * (wr0 * wc0) + v[i + 1] * (wr0 * wc1) + v[i + w] * (wr1 * wc0) + v[i + w + 1] * (wr1 * wc1)
        return vals


def _sample_side(
    grid: _Grid,
    rows: NDArray[np.int64],
    k0: NDArray[np.int64],
    sign: float,
    p: _Profiles,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Sum of the next ``_BLOCK`` samples of each profile on one side, up to its run's end, and whether it ended."""
    k = k0[:, None] + np.arange(_BLOCK)[None, :]
    t = sign * k * p.step
    r = p.r0[rows, None] + t * p.d_r[rows, None]
    c = p.c0[rows, None] + t * p.d_c[rows, None]
    vals = grid.sample(r, c, p.origin[rows])
    outside = (vals <= 1e-6) | (k > p.reach_k[rows, None])
    ended = outside.any(axis=1)
    first = np.where(ended, np.argmax(outside, axis=1), _BLOCK)
    inside = np.arange(_BLOCK)[None, :] < first[:, None]
    return np.where(inside, vals, 0.0).sum(axis=1), np.asarray(ended)


def _trace_pure(
    dt: NDArray[np.float32], p: _Profiles, rows: NDArray[np.int64], k: NDArray[np.int64], sign: float
) -> NDArray[np.int64]:
    """Samples beyond sample ``k`` (all-crack neighbours) that still have four crack neighbours.

    The pixel ``q`` nearest to sample ``k`` is in the crack, and every pixel closer to ``q``
    than its distance-transform radius is too; a sample within ``radius - sqrt(2)`` of ``q``
    (it is at most ``k``'s distance plus ``sqrt(2) / 2`` from it) has its four bilinear
    neighbours among them.
    """
    t = sign * k * p.step
    q_r = np.rint(p.r0[rows] + t * p.d_r[rows]).astype(np.int64) + p.origin[rows, 0]
    q_c = np.rint(p.c0[rows] + t * p.d_c[rows]).astype(np.int64) + p.origin[rows, 1]
    radius = dt[q_r, q_c].astype(np.float64)
    return np.asarray(np.maximum(np.floor((radius - _TRACE_MARGIN) / p.step), 0), dtype=np.int64)


def _chords(
    grid: _Grid,
    dt: NDArray[np.float32],
    p: _Profiles,
    pure_k: NDArray[np.int64],
    cap: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Integral of the bilinear mask over the non-zero run through each centre (k = 0).

    Profiles come in pairs (line ``i`` and ``i + m / 2``) whose mean is clamped to ``cap``.
    Samples ``|k| <= pure_k`` lie within the crack's inscribed disc, where the mask is 1 all
    around, and this all-crack stretch is extended on each side by the distance transform
    (:func:`_trace_pure`); the remaining samples are taken outwards, ``_BLOCK`` at a time,
    until the run ends (a sample <= 1e-6) or leaves the profile's reach on both sides, or
    until the pair's mean so far reaches its cap, beyond which the exact value no longer
    matters. Samples known to be all-crack count 1 (the interpolation may round them to
    1 +- 1e-16).
    """
    m = p.r0.size
    half = m // 2
    centre = (pure_k >= 0).astype(np.float64)
    pure = np.tile(np.maximum(pure_k, 0), (2, 1))  # all-crack samples beyond the centre, right and left
    ended = np.zeros((2, m), dtype=bool)
    for side, sign in ((0, 1.0), (1, -1.0)):
        todo = np.flatnonzero(pure_k >= 0)
        for _ in range(_TRACE_ROUNDS):
            grow = _trace_pure(dt, p, todo, pure[side, todo], sign)
            pure[side, todo] += grow
            todo = todo[grow > 0]
            if todo.size == 0:
                break
        ended[side] = pure[side] >= p.reach_k
        pure[side] = np.minimum(pure[side], p.reach_k)
    sums = np.zeros((2, m))
    nxt = pure + 1  # next |k| to sample on each side
    nxt[0] -= (pure_k < 0).astype(np.int64)  # a centre not known to be all-crack is sampled on the right
    out = np.empty(m)
    open_pairs = np.arange(half)
    while True:
        rows = np.concatenate([open_pairs, open_pairs + half])
        chord = (centre[rows] + pure[0, rows] + pure[1, rows] + sums[0, rows] + sums[1, rows]) * p.step
        a, b = chord[: open_pairs.size], chord[open_pairs.size :]
        done = ended[:, open_pairs].all(axis=0) & ended[:, open_pairs + half].all(axis=0)
        done |= 0.5 * a + 0.5 * b >= cap[open_pairs]
        out[open_pairs[done]] = a[done]
        out[open_pairs[done] + half] = b[done]
        open_pairs = open_pairs[~done]
        if open_pairs.size == 0:
            return out
        active = np.concatenate([open_pairs, open_pairs + half])
        for side, sign in ((0, 1.0), (1, -1.0)):
            todo = active[~ended[side, active]]
            for s in range(0, todo.size, _ROW_CHUNK):
                chunk = todo[s : s + _ROW_CHUNK]
                add, stop = _sample_side(grid, chunk, nxt[side, chunk], sign, p)
                sums[side, chunk] += add
                ended[side, chunk] = stop
            nxt[side, todo] += _BLOCK


def chord_widths(
    mask: NDArray[np.uint8],
    dt: NDArray[np.float32],
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    normals: NDArray[np.float64],
    radius: NDArray[np.float64],
    fan_deg: tuple[float, ...] = FAN_DEG,
    step: float = 0.25,
    *,
    reach: NDArray[np.float64] | None = None,
    origin: NDArray[np.int64] | None = None,
) -> NDArray[np.float64]:
    """Sub-pixel chord lengths of the mask through each skeleton pixel.

    The 0/1 mask is sampled bilinearly every ``step`` px along the normal turned by each
    angle of ``fan_deg``; the run of non-zero samples through the centre is integrated,
    which places each edge where the interpolated mask crosses 0.5. Each chord is the mean
    of two parallel chords ``SHIFT_PX`` either side of the pixel centre: chords through
    lattice points alone are biased by up to 0.25 px on 45 degree staircases. Chords are
    clamped to ``[2r - 1, 2r + 1]`` with ``r`` the distance-transform radius: ``2r - 1`` is
    the narrowest band whose centre pixel has radius ``r``, and a skeleton pixel up to
    0.5 px off the true centre line lets the far half reach 0.5 px beyond ``r``.

    Args:
        mask: 0/1 mask with empty borders.
        dt: Distance transform of ``mask`` (L2, precise).
        rows: Rows of the skeleton pixels (in their component's window).
        cols: Columns of the skeleton pixels (in their component's window).
        normals: (N, 2) unit normals (drow, dcol).
        radius: Distance-transform value at each skeleton pixel.
        fan_deg: Turns of the normal to sample, degrees.
        step: Sampling step in px.
        reach: Half length of each profile in px, a multiple of ``step``; by default
            ``ceil(max(radius)) + 2`` for all (the pixels of one component).
        origin: (N, 2) position in ``mask`` of each pixel's window; by default
            ``rows`` and ``cols`` index ``mask`` directly.

    Returns:
        (N, len(fan_deg)) chord lengths in px.

    """
    n = rows.size
    if reach is None:
        reach = np.full(n, float(np.ceil(radius.max(initial=1.0))) + 2.0)
    offset = np.zeros((n, 2), dtype=np.int64) if origin is None else origin.astype(np.int64)
    # Sample points closer to the pixel than r - sqrt(2) have all four bilinear neighbours in the crack.
    inner = radius - math.sqrt(2.0) - 1e-9
    pure_k = np.where(inner > SHIFT_PX, np.floor(np.sqrt(np.maximum(inner**2 - SHIFT_PX**2, 0.0)) / step), -1.0).astype(
        np.int64
    )
    d_r, d_c, r0, c0 = [], [], [], []
    for shift in (-SHIFT_PX, SHIFT_PX):
        for turn in np.radians(fan_deg):
            cos_t, sin_t = np.cos(turn), np.sin(turn)
            dr = cos_t * normals[:, 0] - sin_t * normals[:, 1]
            dc = sin_t * normals[:, 0] + cos_t * normals[:, 1]
            d_r.append(dr)
            d_c.append(dc)
            r0.append(rows + shift * dc)
            c0.append(cols - shift * dr)
    m = 2 * len(fan_deg)
    profiles = _Profiles(
        np.concatenate(r0),
        np.concatenate(c0),
        np.concatenate(d_r),
        np.concatenate(d_c),
        np.tile(offset, (m, 1)),
        np.tile(np.rint(reach / step).astype(np.int64), m),
        step,
    )
    chords = _chords(_Grid.of(mask), dt, profiles, np.tile(pure_k, m), np.tile(2.0 * radius + 1.0, len(fan_deg)))
    chords = chords.reshape(2, len(fan_deg), n)
    out = np.zeros((n, len(fan_deg)))
    for f in range(len(fan_deg)):
        for s in range(2):
            out[:, f] += 0.5 * chords[s, f]
    return np.clip(out, (2.0 * radius - 1.0)[:, None], (2.0 * radius + 1.0)[:, None])


def ray_exits(
    mask: NDArray[np.uint8],
    origins: NDArray[np.float64],
    directions: NDArray[np.float64],
    reach: NDArray[np.float64],
    gap: float = 1.5,
    offset: NDArray[np.int64] | None = None,
) -> NDArray[np.float64]:
    """Distance from each origin along its unit direction to where the mask ends.

    The 0/1 mask is interpolated bilinearly, so the 0.5 crossing is the pixel edge. The end
    is the first crossing below 0.5 followed by at least ``gap`` px below 0.5, so the dips
    between the staircase pixels of a thin oblique line are passed over. A ray whose mask
    does not end before its ``reach`` returns ``reach``.

    Args:
        mask: 0/1 mask.
        origins: (M, 2) (row, col) ray origins (in their component's window).
        directions: (M, 2) unit directions.
        reach: (M,) maximum distances.
        gap: Length (px) below 0.5 that ends the mask.
        offset: (M, 2) position in ``mask`` of each origin's window; default none.

    Returns:
        (M,) distances in px.

    """
    step = 0.125
    run = round(gap / step)
    m = origins.shape[0]
    out = np.empty(m)
    lengths = np.ceil((reach + gap + step) / step).astype(np.int64)  # as np.arange(0, reach + gap + step, step)
    shift = np.zeros((m, 2)) if offset is None else offset.astype(np.float64)
    order = np.argsort(lengths, kind="stable")
    for s in range(0, m, _RAY_CHUNK):
        rows = order[s : s + _RAY_CHUNK]
        n_t = int(lengths[rows].max())
        t = np.arange(n_t) * step
        pts = origins[rows, :, None] + directions[rows, :, None] * t[None, None, :]
        vals = ndimage.map_coordinates(
            mask,
            [(pts[:, 0] + shift[rows, :1]).ravel(), (pts[:, 1] + shift[rows, 1:]).ravel()],
            order=1,
            output=np.float64,
        ).reshape(rows.size, n_t)
        inside_t = np.arange(n_t)[None, :] < lengths[rows, None]
        below = ((vals < 0.5) & inside_t).astype(np.int64)
        csum = np.concatenate([np.zeros((rows.size, 1), dtype=np.int64), np.cumsum(below, axis=1)], axis=1)
        ahead = csum[:, np.minimum(np.arange(n_t) + run + 1, n_t)] - csum[:, :n_t]  # run starting at i
        ends = (ahead == run + 1) & (t[None, :] <= reach[rows, None]) & inside_t
        found = ends.any(axis=1)
        i = np.argmax(ends, axis=1)
        k = np.arange(rows.size)
        prev = np.maximum(i - 1, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = (vals[k, prev] - 0.5) / (vals[k, prev] - vals[k, i])
        out[rows] = np.where(~found, reach[rows], np.where(i == 0, 0.0, t[prev] + frac * step))
    return out
