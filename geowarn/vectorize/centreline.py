"""Crack centrelines from skeleton branches: smoothed pixel chains, tips extended to the mask edge.

See :mod:`geowarn.vectorize.measure` for the method: each branch pixel chain is smoothed by a
centred moving average (half window ``SMOOTH_HALF``), branches ending in a junction are joined to
the junction centre, and each free end is trimmed back by ``END_TRIM_RADII`` local radii and
extended along its tangent up to the 0.5 crossing of the bilinearly interpolated mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geowarn.vectorize.graph import Topology
from geowarn.vectorize.width import ray_exits

__all__ = ["branch_polylines", "polyline_length", "smooth_chain"]

_F64 = NDArray[np.float64]
_I64 = NDArray[np.int64]

#: Half window (px) of the moving average applied to branch pixel chains.
SMOOTH_HALF = 4
#: A free end is trimmed back by this many local radii before it is extended to the tip.
END_TRIM_RADII = 2.0
#: Pixels used to estimate the direction of a free end.
END_TANGENT_PX = 5


def smooth_chain(points: NDArray[np.float64], half: int, closed: bool = False) -> NDArray[np.float64]:
    """Centred moving average of a point chain; open chains keep their end points."""
    n = points.shape[0]
    if closed:
        ring = points[:-1]
        m = ring.shape[0]
        h = min(half, (m - 1) // 2)
        if h < 1:
            return points.copy()
        idx = (np.arange(m)[:, None] + np.arange(-h, h + 1)[None, :]) % m
        out = ring[idx].mean(axis=1)
        return np.concatenate([out, out[:1]], axis=0)
    i = np.arange(n)
    k = np.minimum(np.minimum(i, n - 1 - i), half)
    csum = np.concatenate([np.zeros((1, 2)), np.cumsum(points, axis=0)], axis=0)
    return np.asarray((csum[i + k + 1] - csum[i - k]) / (2 * k + 1)[:, None], dtype=np.float64)


def polyline_length(points: NDArray[np.float64]) -> float:
    """Sum of segment lengths of an (N, 2) polyline."""
    return float(np.hypot(*np.diff(points, axis=0).T).sum()) if points.shape[0] > 1 else 0.0


@dataclass
class _Chains:
    """Open point chains of equal padded length: ``points[g, :n[g]]`` is chain ``g``."""

    points: NDArray[np.float64]
    n: _I64
    origin: _I64

    def reversed(self) -> _Chains:
        """The same chains walked from their other end."""
        j = np.arange(self.points.shape[1])
        idx = np.maximum(self.n[:, None] - 1 - j[None, :], 0)
        return _Chains(np.take_along_axis(self.points, idx[:, :, None], axis=1), self.n, self.origin)


def _smooth_open(chains: _Chains) -> _Chains:
    """:func:`smooth_chain` of every open chain."""
    pts, n = chains.points, chains.n
    i = np.arange(pts.shape[1])[None, :]
    k = np.clip(np.minimum(i, n[:, None] - 1 - i), 0, SMOOTH_HALF)
    csum = np.concatenate([np.zeros((pts.shape[0], 1, 2)), np.cumsum(pts, axis=1)], axis=1)
    upper = np.minimum(i + k + 1, n[:, None])
    lower = np.maximum(i - k, 0)
    out = (
        np.take_along_axis(csum, upper[:, :, None], axis=1) - np.take_along_axis(csum, lower[:, :, None], axis=1)
    ) / (2 * k + 1)[:, :, None]
    last = np.minimum(i, n[:, None] - 1)
    return _Chains(np.take_along_axis(out, last[:, :, None], axis=1), n, chains.origin)


def _free_starts(chains: _Chains, dt: NDArray[np.float32], m8: NDArray[np.uint8]) -> _Chains:
    """Trim the first end of every chain, then extend it along its tangent to the mask edge.

    The chains need one free column of padding: an end too short to trim gains a point.
    """
    seq, n, org = chains.points, chains.n, chains.origin
    g = np.arange(seq.shape[0])
    rc = np.rint(seq).astype(np.int64)
    radius = dt[rc[:, :, 0] + org[:, :1], rc[:, :, 1] + org[:, 1:]].astype(np.float64)
    steps = np.hypot(*np.moveaxis(np.diff(seq, axis=1), 2, 0))
    arc = np.concatenate([np.zeros((seq.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)
    valid = np.arange(seq.shape[1])[None, :] < n[:, None]
    limit = (n - 1) // 2
    past = (arc >= END_TRIM_RADII * radius) & valid
    k = np.minimum(np.where(past.any(axis=1), np.argmax(past, axis=1), limit), limit)
    r_k = radius[g, k]
    ref = np.minimum(k + np.maximum(END_TANGENT_PX, np.ceil(r_k).astype(np.int64)), n - 1)
    direction = seq[g, k] - seq[g, ref]
    norm = np.hypot(direction[:, 0], direction[:, 1])
    move = norm != 0.0
    g, k = g[move], k[move]
    direction = direction[move] / norm[move, None]
    reach = arc[g, k] + 2.0 * r_k[move] + 2.0
    tip = seq[g, k] + direction * ray_exits(m8, seq[g, k], direction, reach, offset=org[g])[:, None]
    out = seq.copy()
    new_n = n.copy()
    new_n[g] = n[g] - k + 1
    j = np.arange(seq.shape[1])[None, :]
    idx = np.minimum(k[:, None] + j - 1, n[g, None] - 1)
    out[g] = np.take_along_axis(seq[g], np.maximum(idx, 0)[:, :, None], axis=1)
    out[g, 0] = tip
    return _Chains(out, new_n, org)


def _open_polylines(
    topo: Topology,
    which: _I64,
    rows: _I64,
    cols: _I64,
    centres: _F64,
    origin: _I64,
    dt: NDArray[np.float32],
    m8: NDArray[np.uint8],
) -> list[NDArray[np.float64]]:
    """Smoothed polylines of the open branches ``which``, junction centres joined, free ends corrected."""
    branches, deg, cluster_of = topo.branches, topo.graph.degree, topo.cluster_of
    first, last = branches.first[which], branches.last[which]
    size = branches.sizes[which]
    joined = []
    padded_centres = np.vstack([centres, np.zeros((1, 2))])  # row -1 stands for "no junction"
    for end, pos in ((first, 0), (last, size - 1)):
        px = branches.pixels[branches.bounds[which] + pos]
        centre = padded_centres[cluster_of[end]]
        here = np.stack([rows[px], cols[px]], axis=1).astype(np.float64)
        joined.append((cluster_of[end] >= 0) & ~np.isclose(centre, here).all(axis=1))
    pre, post = joined
    n = size + pre + post
    j = np.arange(int(n.max()) + 2)[None, :]  # room for a tip at each end
    idx = branches.bounds[which, None] + np.clip(j - pre[:, None], 0, size[:, None] - 1)
    px = branches.pixels[idx]
    points = np.stack([rows[px], cols[px]], axis=2).astype(np.float64)
    points[pre, 0] = centres[cluster_of[first[pre]]]
    tail = post[:, None] & (j >= n[:, None] - 1)
    points[tail] = np.repeat(centres[cluster_of[last[post]]], tail[post].sum(axis=1), axis=0)
    chains = _smooth_open(_Chains(points, n, origin[first]))
    for ends, at_start in ((first, True), (last, False)):
        free = np.flatnonzero(deg[ends] == 1)
        if free.size == 0:
            continue
        sub = _Chains(chains.points[free], chains.n[free], chains.origin[free])
        sub = _free_starts(sub, dt, m8) if at_start else _free_starts(sub.reversed(), dt, m8).reversed()
        chains.points[free] = sub.points
        chains.n[free] = sub.n
    return [chains.points[g, : chains.n[g]] for g in range(which.size)]


def branch_polylines(
    topo: Topology,
    rows: _I64,
    cols: _I64,
    origin: _I64,
    dt: NDArray[np.float32],
    m8: NDArray[np.uint8],
) -> list[NDArray[np.float64]]:
    """Smoothed branch polylines in padded window coordinates, ends corrected.

    Args:
        topo: Skeleton topology of the packed image.
        rows: Row of each skeleton pixel in its window.
        cols: Column of each skeleton pixel in its window.
        origin: (N, 2) origin of each skeleton pixel's window in the packed image.
        dt: Distance transform of the packed image.
        m8: The packed 0/1 image.

    """
    branches = topo.branches
    centres = topo.centres(rows, cols)
    out: list[NDArray[np.float64]] = [np.zeros((0, 2))] * len(branches)
    for b in np.flatnonzero(branches.closed).tolist():
        px = branches.chain(b)
        out[b] = smooth_chain(np.stack([rows[px], cols[px]], axis=1).astype(np.float64), SMOOTH_HALF, closed=True)
    which = np.flatnonzero(~branches.closed)
    sizes = branches.sizes[which]
    order = np.argsort(sizes, kind="stable")
    bucket = np.ceil(np.log2(sizes[order] + 2)).astype(np.int64)  # chains of similar length together
    for chunk in np.split(which[order], np.flatnonzero(np.diff(bucket)) + 1):
        if chunk.size:
            polys = _open_polylines(topo, chunk, rows, cols, centres, origin, dt, m8)
            for b, poly in zip(chunk.tolist(), polys, strict=True):
                out[b] = poly
    return out
