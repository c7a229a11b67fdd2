from __future__ import annotations

import numpy as np

from geowarn.vectorize.atlas import pack


def test_windows_are_packed_apart_and_recoverable() -> None:
    rng = np.random.default_rng(0)
    windows = [(rng.random(tuple(rng.integers(1, 40, 2))) < 0.5).astype(np.uint8) for _ in range(50)]
    atlas = pack(windows)
    covered = np.zeros(atlas.image.shape, int)
    for i, win in enumerate(windows):
        np.testing.assert_array_equal(atlas.window(i, atlas.image), win)
        assert (atlas.window(i, atlas.owner) == i + 1).all()
        atlas.window(i, covered)[...] += 1
    assert covered.max() == 1  # no overlap
    assert atlas.image[covered == 0].sum() == 0 and (atlas.owner[covered == 0] == 0).all()
    assert atlas.image.size <= 2 * sum(w.size for w in windows)  # reasonably dense


def test_single_and_empty() -> None:
    atlas = pack([np.ones((3, 4), np.uint8)])
    assert atlas.image.shape[0] >= 3 and atlas.image.shape[1] >= 4
    assert pack([]).origin.shape == (0, 2)
