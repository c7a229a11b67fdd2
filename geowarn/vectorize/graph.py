"""Skeleton graph: 8-neighbour edges, endpoints, junctions, branch tracing and spur pruning.

A diagonal step between two skeleton pixels is dropped when the two pixels also share
an orthogonal neighbour in the skeleton (an L-corner), so staircase corners are neither
mistaken for junctions nor counted twice in the length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Branch",
    "SkeletonGraph",
    "Topology",
    "analyse_skeleton",
    "build_graph",
    "chain_length",
    "trace_branches",
]

#: (drow, dcol) of the 8 neighbours; direction k and (k + 4) % 8 are opposite.
OFFSETS = np.array([(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)], dtype=np.int64)
STEPS = np.hypot(OFFSETS[:, 0], OFFSETS[:, 1])

#: A terminal branch shorter than this many junction radii is a spur of the thinning.
SPUR_RADII = 2.0


@dataclass
class SkeletonGraph:
    """Skeleton pixels and their kept 8-neighbour edges.

    Attributes:
        rows: Row of each skeleton pixel, shape (N,).
        cols: Column of each skeleton pixel, shape (N,).
        nbr: Index of the neighbour in each of the 8 directions, or -1, shape (N, 8).
        degree: Number of kept edges of each pixel, shape (N,).

    """

    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    nbr: NDArray[np.int64]
    degree: NDArray[np.int64]

    @property
    def length_steps(self) -> float:
        """Total edge length: orthogonal steps 1, diagonal steps sqrt(2)."""
        return float(((self.nbr >= 0) * STEPS).sum() / 2.0)


@dataclass
class Branch:
    """An ordered chain of skeleton pixels between two nodes (or a closed loop).

    Attributes:
        pixels: Indices into the graph arrays, in chain order.
        closed: True for a loop without any node (first pixel repeated at the end).

    """

    pixels: list[int]
    closed: bool = False


@dataclass
class Topology:
    """Pruned skeleton graph with its branches and junction clusters.

    Attributes:
        graph: The pruned skeleton graph.
        branches: Branches, without the short links inside junction clusters.
        cluster_of: Junction cluster id of each junction pixel (degree >= 3).
        centres: (row, col) centre of each junction cluster, shape (K, 2).

    """

    graph: SkeletonGraph
    branches: list[Branch]
    cluster_of: dict[int, int] = field(default_factory=dict)
    centres: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 2)))

    @property
    def n_endpoints(self) -> int:
        """Number of free ends (pixels with one neighbour)."""
        return int((self.graph.degree == 1).sum())

    @property
    def n_junctions(self) -> int:
        """Number of junction clusters."""
        return int(self.centres.shape[0])


def build_graph(skel: NDArray[np.bool_]) -> SkeletonGraph:
    """Graph of a thin skeleton image whose border rows and columns are empty."""
    rows, cols = (a.astype(np.int64) for a in np.nonzero(skel))
    index = np.full(skel.shape, -1, dtype=np.int64)
    index[rows, cols] = np.arange(rows.size)
    nbr = np.stack([index[rows + dr, cols + dc] for dr, dc in OFFSETS], axis=1)
    for k in range(0, 8, 2):  # diagonal directions
        dr, dc = OFFSETS[k]
        corner = skel[rows + dr, cols] | skel[rows, cols + dc]
        nbr[corner, k] = -1
    degree = (nbr >= 0).sum(axis=1).astype(np.int64)
    return SkeletonGraph(rows, cols, nbr, degree)


def trace_branches(graph: SkeletonGraph) -> list[Branch]:
    """Split the graph into chains between nodes (degree != 2) plus closed loops."""
    nbr: list[list[int]] = graph.nbr.tolist()
    deg: list[int] = graph.degree.tolist()
    used = [[False] * 8 for _ in deg]

    def walk(start: int, k: int) -> list[int]:
        path = [start]
        cur = nbr[start][k]
        used[start][k] = used[cur][(k + 4) % 8] = True
        while deg[cur] == 2 and cur != start:
            path.append(cur)
            nxt = next(j for j in range(8) if nbr[cur][j] >= 0 and not used[cur][j])
            q = nbr[cur][nxt]
            used[cur][nxt] = used[q][(nxt + 4) % 8] = True
            cur = q
        path.append(cur)
        return path

    branches: list[Branch] = []
    for p, d in enumerate(deg):
        if d != 2:
            branches.extend(Branch(walk(p, k)) for k in range(8) if nbr[p][k] >= 0 and not used[p][k])
    for p, d in enumerate(deg):  # what is left are loops of degree-2 pixels
        if d == 2 and not any(used[p]):
            k = next(j for j in range(8) if nbr[p][j] >= 0)
            branches.append(Branch(walk(p, k), closed=True))
    return branches


def chain_length(graph: SkeletonGraph, pixels: list[int]) -> float:
    """Length of a pixel chain in orthogonal/diagonal steps."""
    r, c = graph.rows[pixels], graph.cols[pixels]
    return float(np.hypot(np.diff(r), np.diff(c)).sum())


def _spurs(graph: SkeletonGraph, branches: list[Branch], dt: NDArray[np.float32]) -> list[Branch]:
    """Terminal branches too short to leave the junction's inscribed disc."""
    deg = graph.degree
    incident: dict[int, list[tuple[float, Branch, bool]]] = {}
    for b in branches:
        if b.closed:
            continue
        ends = (b.pixels[0], b.pixels[-1])
        free = deg[ends[0]] == 1 or deg[ends[1]] == 1
        length = chain_length(graph, b.pixels)
        for e in ends:
            if deg[e] >= 3:
                junction_r = float(dt[graph.rows[e], graph.cols[e]])
                is_spur = free and length < SPUR_RADII * junction_r
                incident.setdefault(e, []).append((length, b, is_spur))
    spurs: list[Branch] = []
    for items in incident.values():
        candidates = [(length, b) for length, b, s in items if s]
        if len(candidates) == len(items):  # keep the longest so the junction is not emptied
            candidates.remove(max(candidates, key=lambda t: t[0]))
        spurs.extend(b for _, b in candidates)
    return spurs


def _clusters(graph: SkeletonGraph, branches: list[Branch], dt: NDArray[np.float32]) -> Topology:
    """Merge junction pixels joined by links shorter than the junction radius."""
    deg = graph.degree
    junctions = [int(j) for j in np.flatnonzero(deg >= 3)]
    parent = {j: j for j in junctions}

    def find(j: int) -> int:
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        return j

    kept: list[Branch] = []
    for b in branches:
        a, z = b.pixels[0], b.pixels[-1]
        if not b.closed and a != z and deg[a] >= 3 and deg[z] >= 3:
            radius = max(float(dt[graph.rows[e], graph.cols[e]]) for e in (a, z))
            if chain_length(graph, b.pixels) < radius:
                parent[find(a)] = find(z)
                continue
        kept.append(b)
    roots = sorted({find(j) for j in junctions})
    cluster_id = {r: i for i, r in enumerate(roots)}
    cluster_of = {j: cluster_id[find(j)] for j in junctions}
    centres = np.zeros((len(roots), 2))
    counts = np.zeros(len(roots))
    for j, c in cluster_of.items():
        centres[c] += (graph.rows[j], graph.cols[j])
        counts[c] += 1
    if roots:
        centres /= counts[:, None]
    return Topology(graph, kept, cluster_of, centres)


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
        spurs = _spurs(graph, branches, dt)
        if not spurs:
            break
        for b in spurs:  # keep the junction end pixel
            tip = b.pixels[1:] if graph.degree[b.pixels[0]] >= 3 else b.pixels[:-1]
            skel[graph.rows[tip], graph.cols[tip]] = False
        graph = build_graph(skel)
        branches = trace_branches(graph)
    return _clusters(graph, branches, dt)
