"""Vectorised branch tracing against a plain pixel-by-pixel walk of the same graph."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.morphology import skeletonize

from geowarn.vectorize.graph import (
    SkeletonGraph,
    analyse_skeleton,
    build_graph,
    chain_lengths,
    trace_branches,
)


def walk_branches(graph: SkeletonGraph) -> list[tuple[list[int], bool]]:
    """Reference: chains walked from each node (degree != 2) in pixel and direction order, then loops."""
    nbr, deg = graph.nbr.tolist(), graph.degree.tolist()
    used = [[False] * 8 for _ in deg]

    def walk(start: int, k: int) -> list[int]:
        path, cur = [start], nbr[start][k]
        used[start][k] = used[cur][(k + 4) % 8] = True
        while deg[cur] == 2 and cur != start:
            path.append(cur)
            j = next(j for j in range(8) if nbr[cur][j] >= 0 and not used[cur][j])
            nxt = nbr[cur][j]
            used[cur][j] = used[nxt][(j + 4) % 8] = True
            cur = nxt
        return [*path, cur]

    out = []
    for p, d in enumerate(deg):
        if d != 2:
            out += [(walk(p, k), False) for k in range(8) if nbr[p][k] >= 0 and not used[p][k]]
    for p, d in enumerate(deg):
        if d == 2 and not any(used[p]):
            out.append((walk(p, next(j for j in range(8) if nbr[p][j] >= 0)), True))
    return out


def random_skeleton(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Skeleton (with empty border) and distance transform of random thick lines and rings."""
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(12, 70, 2))
    img = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 7))):
        p, q = rng.integers(0, [w, h], 2), rng.integers(0, [w, h], 2)
        cv2.line(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 1, int(rng.integers(1, 6)))
    if rng.random() < 0.4:
        cv2.circle(img, (w // 2, h // 2), min(h, w) // 3, 1, int(rng.integers(1, 4)))
    img = np.pad(img, 4)
    dt = cv2.distanceTransform(img, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return skeletonize(img.astype(bool)), dt


@pytest.mark.parametrize("seed", range(40))
def test_trace_matches_pixel_walk(seed: int) -> None:
    skel, _ = random_skeleton(seed)
    graph = build_graph(skel)
    branches = trace_branches(graph)
    expected = walk_branches(graph)
    assert [(branches.chain(b).tolist(), bool(branches.closed[b])) for b in range(len(branches))] == expected
    steps = [float(np.hypot(np.diff(graph.rows[p]), np.diff(graph.cols[p])).sum()) for p, _ in expected]
    np.testing.assert_allclose(chain_lengths(graph, branches), steps, rtol=1e-12)


def test_loop_and_isolated_pixel() -> None:
    skel = np.zeros((12, 12), bool)
    skel[3, 3:8] = skel[7, 3:8] = skel[3:8, 3] = skel[3:8, 7] = True  # a square ring
    skel[10, 10] = True
    graph = build_graph(skel)
    branches = trace_branches(graph)
    assert len(branches) == 1 and bool(branches.closed[0])
    chain = branches.chain(0)
    assert chain[0] == chain[-1] and len(chain) == 17
    assert [(c.tolist(), True) for c in [chain]] == walk_branches(graph)


def test_spurs_pruned_and_junctions_grouped() -> None:
    img = np.zeros((40, 60), np.uint8)
    img[18:23, 5:55] = 1  # a 5 px wide bar: thinning leaves forks at its ends
    img[5:18, 29:32] = 1  # a branch joining from above
    dt = cv2.distanceTransform(np.pad(img, 4), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    topo = analyse_skeleton(skeletonize(np.pad(img, 4).astype(bool)), dt)
    free_ends = int((topo.graph.degree == 1).sum())
    assert free_ends == 3 and topo.n_clusters == 1
    centre = topo.centres(topo.graph.rows, topo.graph.cols)[0]
    assert abs(centre[0] - 24) <= 2 and abs(centre[1] - 34.5) <= 2
