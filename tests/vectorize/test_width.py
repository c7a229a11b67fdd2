"""Chord widths and tip rays against plain full-length sampling of the same profiles."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import skeletonize

from geowarn.vectorize.width import FAN_DEG, SHIFT_PX, _Grid, chord_widths, local_normals, ray_exits


def reference_chords(
    mask: np.ndarray, rows: np.ndarray, cols: np.ndarray, normals: np.ndarray, radius: np.ndarray
) -> np.ndarray:
    """Every sample of every profile over [-reach, reach], integrated over the run through the centre."""
    step = 0.25
    reach = float(np.ceil(radius.max(initial=1.0))) + 2.0
    t = np.arange(-reach, reach + step / 2, step)
    centre = int(np.argmin(np.abs(t)))
    idx = np.arange(t.size)
    out = np.zeros((rows.size, len(FAN_DEG)))
    for f, turn in enumerate(np.radians(FAN_DEG)):
        d_r = np.cos(turn) * normals[:, 0] - np.sin(turn) * normals[:, 1]
        d_c = np.sin(turn) * normals[:, 0] + np.cos(turn) * normals[:, 1]
        for shift in (-SHIFT_PX, SHIFT_PX):
            r = (rows + shift * d_c)[:, None] + t[None, :] * d_r[:, None]
            c = (cols - shift * d_r)[:, None] + t[None, :] * d_c[:, None]
            vals = ndimage.map_coordinates(mask, [r.ravel(), c.ravel()], order=1, output=np.float64).reshape(r.shape)
            outside = vals <= 1e-6
            left = np.where(outside[:, :centre], idx[:centre], -1).max(axis=1)
            right = np.where(outside[:, centre:], idx[centre:], t.size).min(axis=1)
            csum = np.concatenate([np.zeros((r.shape[0], 1)), np.cumsum(vals, axis=1)], axis=1)
            k = np.arange(r.shape[0])
            out[:, f] += 0.5 * (csum[k, right] - csum[k, left + 1]) * step
    return np.clip(out, (2 * radius - 1)[:, None], (2 * radius + 1)[:, None])


def blobs(seed: int) -> np.ndarray:
    """Padded 0/1 mask of random thin lines, thick lines and discs."""
    rng = np.random.default_rng(seed)
    img = np.zeros((70, 90), np.uint8)
    for _ in range(4):
        p, q = rng.integers(0, [90, 70], 2), rng.integers(0, [90, 70], 2)
        cv2.line(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 1, int(rng.integers(1, 9)))
    cv2.circle(img, (int(rng.integers(20, 70)), int(rng.integers(20, 50))), int(rng.integers(3, 15)), 1, -1)
    return np.pad(img, 6)


@pytest.mark.parametrize("seed", range(6))
def test_chords_match_full_sampling(seed: int) -> None:
    mask = blobs(seed)
    dt = cv2.distanceTransform(mask, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    skel = skeletonize(mask.astype(bool))
    rows, cols = (a.astype(np.int64) for a in np.nonzero(skel))
    normals = local_normals(skel, rows, cols)
    radius = dt[rows, cols].astype(np.float64)
    expected = reference_chords(mask, rows, cols, normals, radius)
    np.testing.assert_allclose(chord_widths(mask, dt, rows, cols, normals, radius), expected, rtol=1e-12, atol=1e-12)
    # The same window packed at an offset in a larger image with other pixels around its margin.
    big = np.zeros((mask.shape[0] + 40, mask.shape[1] + 50), np.uint8)
    big_dt = np.zeros(big.shape, np.float32)
    big[:, :] = np.random.default_rng(seed).random(big.shape) < 0.5
    big[17 : 17 + mask.shape[0], 23 : 23 + mask.shape[1]] = mask
    big_dt[17 : 17 + mask.shape[0], 23 : 23 + mask.shape[1]] = dt
    origin = np.tile([17, 23], (rows.size, 1))
    shifted = chord_widths(big, big_dt, rows, cols, normals, radius, origin=origin)
    np.testing.assert_allclose(shifted, expected, rtol=1e-12, atol=1e-12)


def test_grid_sample_is_map_coordinates() -> None:
    rng = np.random.default_rng(3)
    mask = (rng.random((60, 80)) < 0.6).astype(np.uint8)
    r, c = rng.uniform(1, 58, (200, 7)), rng.uniform(1, 78, (200, 7))
    r[:5] = np.round(r[:5])  # points on the pixel lattice too
    expected = ndimage.map_coordinates(mask, [r.ravel(), c.ravel()], order=1, output=np.float64).reshape(r.shape)
    got = _Grid.of(mask).sample(r, c, np.zeros((200, 2), np.int64))
    full = expected >= 1.0 - 1e-12
    np.testing.assert_array_equal(got[~full], expected[~full])
    np.testing.assert_allclose(got[full], 1.0, atol=1e-15)


def reference_ray_exit(mask: np.ndarray, origin: np.ndarray, direction: np.ndarray, reach: float) -> float:
    """One ray: first 0.5 crossing followed by 1.5 px below 0.5."""
    step, gap = 0.125, 1.5
    t = np.arange(0.0, reach + gap + step, step)
    vals = ndimage.map_coordinates(mask, origin[:, None] + direction[:, None] * t[None, :], order=1, output=np.float64)
    run = round(gap / step)
    sums = np.convolve((vals < 0.5).astype(int), np.ones(run + 1, int), mode="full")[run:]
    ends = np.flatnonzero((sums == run + 1) & (t[: sums.size] <= reach))
    if ends.size == 0:
        return reach
    i = int(ends[0])
    return 0.0 if i == 0 else float(t[i - 1] + (vals[i - 1] - 0.5) / (vals[i - 1] - vals[i]) * step)


def test_ray_exits_match_single_rays() -> None:
    rng = np.random.default_rng(5)
    mask = blobs(1)
    rows, cols = np.nonzero(mask)
    pick = rng.choice(rows.size, 60, replace=False)
    origins = np.stack([rows[pick], cols[pick]], axis=1) + rng.uniform(-0.4, 0.4, (60, 2))
    angles = rng.uniform(0, 2 * math.pi, 60)
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    reach = rng.uniform(0.5, 12.0, 60)
    expected = [reference_ray_exit(mask, o, d, r) for o, d, r in zip(origins, directions, reach, strict=True)]
    np.testing.assert_array_equal(ray_exits(mask, origins, directions, reach), expected)
