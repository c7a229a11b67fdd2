from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.typing import NDArray

from geowarn.harness.synthetic import (
    CrackSpec,
    branch_crack,
    crack_length_px,
    crack_mask,
    random_crack_network,
    render_cracks,
    render_terrain,
)


def polyline_distance(spec: CrackSpec, h: int, w: int, col0: int = 0, row0: int = 0) -> NDArray[np.float64]:
    """Distance of every pixel centre to the crack centreline (reference implementation)."""
    yy, xx = np.mgrid[row0 : row0 + h, col0 : col0 + w] + 0.5
    p = np.asarray(spec.points, dtype=np.float64)
    best = np.full((h, w), np.inf)
    for (x0, y0), (x1, y1) in itertools.pairwise(p):
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / max(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
        best = np.minimum(best, np.hypot(xx - x0 - t * dx, yy - y0 - t * dy))
    return best


@pytest.fixture(scope="module")
def network() -> list[CrackSpec]:
    return random_crack_network(np.random.default_rng(11), (20.0, 20.0, 492.0, 492.0), 5, (3.0, 10.0), (150.0, 400.0))


def test_crack_length() -> None:
    spec = CrackSpec(points=((0.0, 0.0), (3.0, 4.0), (3.0, 10.0)), width_px=4.0)
    assert crack_length_px(spec) == pytest.approx(11.0)
    assert spec.depth == 0.75


def test_random_network_properties(network: list[CrackSpec]) -> None:
    assert len(network) == 5
    again = random_crack_network(np.random.default_rng(11), (20.0, 20.0, 492.0, 492.0), 5, (3.0, 10.0), (150.0, 400.0))
    assert again == network
    for c in network:
        p = np.asarray(c.points)
        assert len(p) >= 2
        assert p[:, 0].min() >= 20 and p[:, 0].max() <= 492
        assert p[:, 1].min() >= 20 and p[:, 1].max() <= 492
        assert 3.0 <= c.width_px <= 10.0
        assert 0.0 < c.depth <= 1.0
        assert crack_length_px(c) > 20
        # Meandering, not straight: the path is longer than the chord.
        chord = float(np.hypot(*(p[-1] - p[0])))
        assert crack_length_px(c) > chord * 1.01


def test_mask_matches_truth_geometry(network: list[CrackSpec]) -> None:
    img = render_terrain(0, 0, 512, 512, seed=4)
    before = img.copy()
    mask = render_cracks(img, 0, 0, network, rng_seed=4)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
    union = np.zeros((512, 512), dtype=bool)
    near = np.zeros((512, 512), dtype=bool)
    for i, c in enumerate(network):
        p = np.asarray(c.points)
        c0, r0 = max(int(p[:, 0].min()) - 12, 0), max(int(p[:, 1].min()) - 12, 0)
        c1, r1 = min(int(p[:, 0].max()) + 13, 512), min(int(p[:, 1].max()) + 13, 512)
        m = crack_mask(c, i, 4, c0, r0, r1 - r0, c1 - c0)
        d = polyline_distance(c, r1 - r0, c1 - c0, c0, r0)
        assert not (m & (d >= c.width_px / 2 + 0.75)).any()
        core = d < c.width_px / 2 - 0.5
        assert (m[core]).mean() >= 0.95
        union[r0:r1, c0:c1] |= m
        near[r0:r1, c0:c1] |= d <= c.width_px / 2 + 6
    assert np.array_equal(union, mask.astype(bool))
    # Crack pixels are much darker than the untouched ground; pixels away from cracks are unchanged.
    lum, lum0 = img.mean(axis=2), before.mean(axis=2)
    assert lum[union].mean() < 0.6 * lum0[union].mean()
    assert np.array_equal(img[~near], before[~near])


def test_render_cracks_is_window_independent(network: list[CrackSpec]) -> None:
    full = render_terrain(0, 0, 512, 512, seed=4)
    full_mask = render_cracks(full, 0, 0, network, rng_seed=4)
    tiled = render_terrain(0, 0, 512, 512, seed=4)
    tiled_mask = np.zeros_like(full_mask)
    for r0, r1 in [(0, 97), (97, 300), (300, 512)]:
        for c0, c1 in [(0, 256), (256, 301), (301, 512)]:
            view = tiled[r0:r1, c0:c1]
            tiled_mask[r0:r1, c0:c1] = render_cracks(view, c0, r0, network, rng_seed=4)
    assert np.array_equal(full, tiled)
    assert np.array_equal(full_mask, tiled_mask)


def test_render_cracks_on_strided_view() -> None:
    spec = CrackSpec(points=((10.0, 30.5), (90.0, 34.5)), width_px=6.0)
    bands = np.ascontiguousarray(render_terrain(0, 0, 64, 100, seed=0).transpose(2, 0, 1))
    ref = render_terrain(0, 0, 64, 100, seed=0)
    m1 = render_cracks(bands.transpose(1, 2, 0), 0, 0, [spec], rng_seed=1)
    m2 = render_cracks(ref, 0, 0, [spec], rng_seed=1)
    assert np.array_equal(m1, m2)
    assert np.array_equal(bands.transpose(1, 2, 0), ref)
    # A straight horizontal crack: mask columns have the nominal width to within a pixel.
    widths = m2[:, 25:75].sum(axis=0).astype(int)
    assert np.all(np.abs(widths - 6) <= 1)


def test_no_cracks_outside_window() -> None:
    spec = CrackSpec(points=((1000.0, 1000.0), (1200.0, 1010.0)), width_px=5.0)
    img = render_terrain(0, 0, 50, 50, seed=0)
    before = img.copy()
    assert render_cracks(img, 0, 0, [spec], rng_seed=0).sum() == 0
    assert np.array_equal(img, before)


def test_cracks_go_around_stones() -> None:
    from geowarn.harness.synthetic.terrain import stone_cover

    def on_stone(cracks: list[CrackSpec]) -> float:
        pts = np.concatenate([np.asarray(c.points) for c in cracks])
        return float((stone_cover(pts[:, 0], pts[:, 1], 3) > 0.25).mean())

    bbox = (20.0, 20.0, 2000.0, 2000.0)
    free = random_crack_network(np.random.default_rng(1), bbox, 6)
    steered = random_crack_network(np.random.default_rng(1), bbox, 6, terrain_seed=3)
    assert on_stone(steered) < 0.02
    assert on_stone(steered) < on_stone(free)


def test_branch_starts_on_parent_and_diverges() -> None:
    rng = np.random.default_rng(5)
    parent = random_crack_network(rng, (20.0, 20.0, 1000.0, 1000.0), 1, (8.0, 8.0), (600.0, 600.0))[0]
    branch = branch_crack(rng, parent, (20.0, 20.0, 1000.0, 1000.0), (3.0, 10.0))
    assert branch.points[0] in parent.points
    assert 3.0 <= branch.width_px < parent.width_px
    end = np.asarray(branch.points[-1])
    assert np.hypot(*(np.asarray(parent.points) - end).T).min() > 10
