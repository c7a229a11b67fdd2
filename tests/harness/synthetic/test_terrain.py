from __future__ import annotations

import numpy as np

from geowarn.harness.synthetic import render_terrain
from geowarn.harness.synthetic.terrain import value_noise


def test_terrain_is_deterministic_and_seamless() -> None:
    full = render_terrain(1000, 700, 300, 450, seed=5)
    assert full.shape == (300, 450, 3)
    assert full.dtype == np.uint8
    assert np.array_equal(full, render_terrain(1000, 700, 300, 450, seed=5))
    # Any split into windows gives the same pixels.
    parts = np.zeros_like(full)
    for r0, r1 in [(0, 37), (37, 211), (211, 300)]:
        for c0, c1 in [(0, 129), (129, 450)]:
            parts[r0:r1, c0:c1] = render_terrain(1000 + c0, 700 + r0, r1 - r0, c1 - c0, seed=5)
    assert np.array_equal(full, parts)


def test_terrain_looks_like_soil() -> None:
    img = render_terrain(0, 0, 512, 512, seed=1).astype(np.float64)
    assert img.min() >= 1  # 0 is reserved for no-data
    mean = img.reshape(-1, 3).mean(axis=0)
    assert 60 < mean.mean() < 190
    assert mean[0] > mean[2]  # warm soil colours (red > blue)
    assert img.std() > 8  # textured, not flat
    other = render_terrain(0, 0, 512, 512, seed=2).astype(np.float64)
    assert np.abs(img - other).mean() > 5  # seeds differ


def test_value_noise_range_and_continuity() -> None:
    a = value_noise(-50, 30, 200, 300, 40.0, seed=3)
    assert a.shape == (200, 300)
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert np.abs(np.diff(a, axis=1)).max() < 0.1  # smooth at 40 px spacing
    assert np.array_equal(a[10:60, 100:200], value_noise(-40, 130, 50, 100, 40.0, seed=3))
