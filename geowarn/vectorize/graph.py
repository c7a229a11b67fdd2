"""Skeleton graph: 8-neighbour edges, endpoints, junctions, branch tracing and spur pruning.

A diagonal step between two skeleton pixels is dropped when the two pixels also share
an orthogonal neighbour in the skeleton (an L-corner), so staircase corners are neither
mistaken for junctions nor counted twice in the length.

Everything is vectorised over the pixels of the image, so one call handles any number
of separate skeletons (see :mod:`geowarn.vectorize.atlas`): branches are traced by
pointer jumping along the chains of degree-2 pixels instead of a walk pixel by pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "Branches",
    "SkeletonGraph",
    "Topology",
    "analyse_skeleton",
    "build_graph",
    "chain_lengths",
    "trace_branches",
]

_I64 = NDArray[np.int64]

#: (drow, dcol) of the 8 neighbours; direction k and (k + 4) % 8 are opposite.
OFFSETS = np.array([(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)], dtype=np.int64)
STEPS = np.hypot(OFFSETS[:, 0], OFFSETS[:, 1])
#: Diagonal direction -> its vertical and horizontal sides, e.g. (-1, -1) -> (-1, 0) and (0, -1).
_CORNER_SIDES = {0: (1, 7), 2: (1, 3), 4: (5, 3), 6: (5, 7)}

#: A terminal branch shorter than this many junction radii is a spur of the thinning.
SPUR_RADII = 2.0


@dataclass
class SkeletonGraph:
    """Skeleton pixels (in raster order) and their kept 8-neighbour edges.

    Attributes:
        rows: Row of each skeleton pixel, shape (N,).
        cols: Column of each skeleton pixel, shape (N,).
        nbr: Index of the neighbour in each of the 8 directions, or -1, shape (N, 8).
        degree: Number of kept edges of each pixel, shape (N,).

    """

    rows: _I64
    cols: _I64
    nbr: _I64
    degree: _I64


@dataclass
class Branches:
    """Chains of skeleton pixels between two nodes (degree != 2), or closed loops.

    Attributes:
        pixels: Pixel indices of all chains, concatenated in chain order.
        bounds: Chain ``b`` is ``pixels[bounds[b]:bounds[b + 1]]``, shape (B + 1,).
        closed: True for a loop without any node (first pixel repeated at the end).

    """

    pixels: _I64
    bounds: _I64
    closed: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.closed.size)

    @property
    def first(self) -> _I64:
        """First pixel of each chain."""
        return self.pixels[self.bounds[:-1]]

    @property
    def last(self) -> _I64:
        """Last pixel of each chain."""
        return self.pixels[self.bounds[1:] - 1]

    @property
    def sizes(self) -> _I64:
        """Number of pixels of each chain."""
        return np.diff(self.bounds)

    def chain(self, b: int) -> _I64:
        """Pixel indices of chain ``b``."""
        return self.pixels[self.bounds[b] : self.bounds[b + 1]]

    def subset(self, keep: NDArray[np.bool_]) -> Branches:
        """The chains selected by ``keep``, in order."""
        sizes = self.sizes[keep]
        starts = self.bounds[:-1][keep]
        bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return Branches(self.pixels[_ranges(starts, sizes)], bounds, self.closed[keep])


@dataclass
class Topology:
    """Pruned skeleton graph with its branches and junction clusters.

    Attributes:
        graph: The pruned skeleton graph.
        branches: Branches, without the short links inside junction clusters.
        cluster_of: Junction cluster of each pixel (degree >= 3), -1 for other pixels.
        n_clusters: Number of junction clusters.

    """

    graph: SkeletonGraph
    branches: Branches
    cluster_of: _I64
    n_clusters: int

    def centres(self, rows: NDArray[np.int64], cols: NDArray[np.int64]) -> NDArray[np.float64]:
        """(row, col) centre of each junction cluster, given the coordinates of each pixel."""
        junction = np.flatnonzero(self.cluster_of >= 0)
        ids = self.cluster_of[junction]
        sums = np.zeros((self.n_clusters, 2))
        np.add.at(sums, ids, np.stack([rows[junction], cols[junction]], axis=1).astype(np.float64))
        counts = np.bincount(ids, minlength=self.n_clusters).astype(np.float64)
        return sums / np.maximum(counts, 1.0)[:, None]


def _ranges(starts: _I64, sizes: _I64) -> _I64:
    """Concatenation of ``arange(s, s + n)`` for each start and size."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    return np.asarray(np.arange(total, dtype=np.int64) + offsets, dtype=np.int64)


def build_graph(skel: NDArray[np.bool_]) -> SkeletonGraph:
    """Graph of a thin skeleton image whose border rows and columns are empty."""
    rows, cols = (a.astype(np.int64) for a in np.nonzero(skel))
    return _graph_of(rows, cols, skel.shape[1])


def _graph_of(rows: _I64, cols: _I64, width: int) -> SkeletonGraph:
    """Graph of skeleton pixels given in raster order, in an image ``width`` columns wide."""
    flat = rows * width + cols
    nbr = np.full((rows.size, 8), -1, dtype=np.int64)
    for k, (dr, dc) in enumerate(OFFSETS.tolist()):
        target = flat + dr * width + dc
        pos = np.minimum(np.searchsorted(flat, target), max(flat.size - 1, 0))
        found = flat[pos] == target
        nbr[found, k] = pos[found]
    for k, (vertical, horizontal) in _CORNER_SIDES.items():  # a diagonal step with an L-corner is dropped
        nbr[(nbr[:, vertical] >= 0) | (nbr[:, horizontal] >= 0), k] = -1
    degree = (nbr >= 0).sum(axis=1).astype(np.int64)
    return SkeletonGraph(rows, cols, nbr, degree)


def _chains_to_terminal(succ: _I64) -> tuple[_I64, _I64]:
    """Last edge and number of steps to it along ``succ`` (pointer jumping); -1 on cycles."""
    n = succ.size
    term = np.where(succ >= 0, succ, np.arange(n))
    rank = (succ >= 0).astype(np.int64)
    for _ in range(max(1, int(n).bit_length()) + 1):
        open_ = succ[term] >= 0
        if not open_.any():
            break
        nxt_rank = rank + np.where(open_, rank[term], 0)
        term = np.where(open_, term[term], term)
        rank = nxt_rank
    cyclic = succ[term] >= 0
    return np.where(cyclic, -1, term), np.where(cyclic, -1, rank)


def trace_branches(graph: SkeletonGraph) -> Branches:
    """Split the graph into chains between nodes (degree != 2) plus closed loops.

    Chains are ordered by the first pixel and direction they leave from, each walked from
    the end with the lower (pixel, direction); loops follow, from their first pixel in
    the direction of its first neighbour.
    """
    nbr, deg = graph.nbr, graph.degree
    tail, direction = (a.astype(np.int64) for a in np.nonzero(nbr >= 0))  # edges in (pixel, direction) order
    head = nbr[tail, direction]
    edge_id = np.full(nbr.shape, -1, dtype=np.int64)
    edge_id[tail, direction] = np.arange(tail.size)
    reverse = edge_id[head, (direction + 4) % 8]
    # Out of a degree-2 pixel, the next edge is the other one of its two edges.
    out = np.where(nbr >= 0, edge_id, np.iinfo(np.int64).max)
    out.sort(axis=1)
    through = deg[head] == 2
    succ = np.full(tail.size, -1, dtype=np.int64)
    pair = out[head[through], :2]
    succ[through] = np.where(pair[:, 0] == reverse[through], pair[:, 1], pair[:, 0])
    term, rank = _chains_to_terminal(succ)
    starts = np.flatnonzero((deg[tail] != 2) & (term >= 0))
    starts = starts[starts < reverse[term[starts]]]
    sizes = rank[starts] + 2
    # Edges of a chain share its terminal edge; their rank counts down to it.
    chain_of_term = np.full(tail.size, -1, dtype=np.int64)
    chain_of_term[term[starts]] = np.arange(starts.size)
    member = (term >= 0) & (chain_of_term[np.maximum(term, 0)] >= 0)
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    pixels = np.empty(int(bounds[-1]), dtype=np.int64)
    pixels[bounds[:-1]] = tail[starts]
    edges = np.flatnonzero(member)
    chain = chain_of_term[term[edges]]
    pixels[bounds[chain] + 1 + rank[starts][chain] - rank[edges]] = head[edges]
    loops = _closed_loops(graph, succ, head, edge_id, term, tail)
    closed = np.concatenate([np.zeros(starts.size, dtype=bool), np.ones(len(loops), dtype=bool)])
    if loops:
        loop_sizes = np.array([len(p) for p in loops], dtype=np.int64)
        bounds = np.concatenate([bounds, bounds[-1] + np.cumsum(loop_sizes)])
        pixels = np.concatenate([pixels, *loops])
    return Branches(pixels, bounds, closed)


def _closed_loops(graph: SkeletonGraph, succ: _I64, head: _I64, edge_id: _I64, term: _I64, tail: _I64) -> list[_I64]:
    """Pixel chains of the loops made only of degree-2 pixels, from their first pixel."""
    on_loop = np.zeros(graph.degree.size, dtype=bool)
    on_loop[tail[term < 0]] = True
    loops: list[_I64] = []
    for p in np.flatnonzero(on_loop).tolist():
        if not on_loop[p]:
            continue
        e = int(edge_id[p][edge_id[p] >= 0][0])
        path = [p]
        while True:
            q = int(head[e])
            path.append(q)
            on_loop[q] = False
            if q == p:
                break
            e = int(succ[e])
        loops.append(np.array(path, dtype=np.int64))
    return loops


def chain_lengths(graph: SkeletonGraph, branches: Branches) -> NDArray[np.float64]:
    """Length of each pixel chain: orthogonal steps count 1, diagonal steps sqrt(2)."""
    p = branches.pixels
    chain = np.repeat(np.arange(len(branches)), np.maximum(branches.sizes - 1, 0))
    inner = np.ones(max(p.size - 1, 0), dtype=bool)
    inner[branches.bounds[1:-1] - 1] = False  # no step between consecutive chains
    steps = np.abs(np.diff(graph.rows[p]))[inner] + np.abs(np.diff(graph.cols[p]))[inner]
    n_orth = np.bincount(chain, weights=steps == 1, minlength=len(branches))
    n_diag = np.bincount(chain, weights=steps == 2, minlength=len(branches))
    return np.asarray(n_orth + n_diag * STEPS[0], dtype=np.float64)


def _spurs(graph: SkeletonGraph, branches: Branches, radius: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Terminal branches too short to leave the junction's inscribed disc."""
    deg = graph.degree
    first, last = branches.first, branches.last
    free = ~branches.closed & ((deg[first] == 1) | (deg[last] == 1))
    length = chain_lengths(graph, branches)
    ends = np.concatenate([first, last])
    which = np.tile(np.arange(len(branches)), 2)
    order = np.tile([0, 1], (len(branches), 1)).T.ravel()
    at_junction = (deg[ends] >= 3) & np.tile(~branches.closed, 2)
    ends, which, order = ends[at_junction], which[at_junction], order[at_junction]
    is_spur = free[which] & (length[which] < SPUR_RADII * radius[ends])
    spur = np.zeros(len(branches), dtype=bool)
    if not is_spur.any():
        return spur
    # Per junction, keep its longest branch (the first in branch order) when all are spurs.
    sort = np.lexsort((order, which, -length[which], ends))
    ends_s, spur_s = ends[sort], is_spur[sort]
    group_start = np.concatenate([[True], ends_s[1:] != ends_s[:-1]])
    group_id = np.cumsum(group_start) - 1
    all_spurs = np.ones(int(group_id[-1]) + 1, dtype=bool)
    np.logical_and.at(all_spurs, group_id, spur_s)
    keep_longest = group_start & all_spurs[group_id]
    spur[which[sort][spur_s & ~keep_longest]] = True
    return spur


def _clusters(graph: SkeletonGraph, branches: Branches, radius: NDArray[np.float64]) -> Topology:
    """Merge junction pixels joined by links shorter than the junction radius."""
    deg = graph.degree
    first, last = branches.first, branches.last
    link = ~branches.closed & (first != last) & (deg[first] >= 3) & (deg[last] >= 3)
    link &= chain_lengths(graph, branches) < np.maximum(radius[first], radius[last])
    junctions = np.flatnonzero(deg >= 3)
    cluster_of = np.full(deg.size, -1, dtype=np.int64)
    n_clusters = 0
    if junctions.size:
        local = np.full(deg.size, -1, dtype=np.int64)
        local[junctions] = np.arange(junctions.size)
        a, z = local[first[link]], local[last[link]]
        adjacency = coo_matrix((np.ones(a.size), (a, z)), shape=(junctions.size, junctions.size))
        n_clusters, labels = connected_components(adjacency, directed=False)
        cluster_of[junctions] = labels
    return Topology(graph, branches.subset(~link), cluster_of, int(n_clusters))


def analyse_skeleton(skel: NDArray[np.bool_], dt: NDArray[np.float32], max_passes: int = 5) -> Topology:
    """Prune thinning spurs, trace branches and group junction pixels.

    Args:
        skel: Thin skeleton with empty border rows and columns (modified in place).
        dt: Distance transform of the mask (radius at each pixel).
        max_passes: Pruning passes; each pass removes the current spurs.

    Returns:
        The topology of the pruned skeleton.

    """
    graph = build_graph(skel)
    branches = trace_branches(graph)
    for _ in range(max_passes):
        radius = dt[graph.rows, graph.cols].astype(np.float64)
        spur = _spurs(graph, branches, radius)
        if not spur.any():
            break
        spurs = branches.subset(spur)
        at_first = graph.degree[spurs.first] >= 3  # keep the junction end pixel
        sizes = spurs.sizes - 1
        tip = spurs.pixels[_ranges(spurs.bounds[:-1] + at_first, sizes)]
        skel[graph.rows[tip], graph.cols[tip]] = False
        left = np.ones(graph.rows.size, dtype=bool)
        left[tip] = False
        graph = _graph_of(graph.rows[left], graph.cols[left], skel.shape[1])
        branches = trace_branches(graph)
    return _clusters(graph, branches, dt[graph.rows, graph.cols].astype(np.float64))
