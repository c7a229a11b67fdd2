"""Crack path ordering and truncation on small seeded synthetic images."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from geowarn.errors import GeowarnError
from geowarn.harness.scenario import ScenarioInputError, crack_path_order, truncate_crack
from geowarn.harness.scenario.truncate import CrackEraser, kept_part, largest_component

BG = 140.0
START, END = (20, 30), (200, 90)  # (x, y) of the crack line


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Grainy grey-brown surface, (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    grain = cv2.GaussianBlur(rng.normal(0, 10, (h, w)).astype(np.float32), (0, 0), 0.8)
    base = np.array([BG + 8, BG, BG - 10], np.float32)
    return np.clip(base[None, None, :] + grain[:, :, None], 0, 255).astype(np.uint8)


@pytest.fixture
def scene() -> tuple[np.ndarray, np.ndarray, float]:
    """Image with one dark 3 px crack line, its mask and the line's chain-code length."""
    img = texture(130, 230)
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.line(mask, START, END, 1, 3)
    img[mask > 0] = (45, 40, 35)
    dx, dy = abs(END[0] - START[0]), abs(END[1] - START[1])
    return img, mask.astype(bool), max(dx, dy) + (math.sqrt(2) - 1) * min(dx, dy)


def test_path_order_runs_tip_to_tip(scene: tuple[np.ndarray, np.ndarray, float]) -> None:
    _, mask, length = scene
    path = crack_path_order(mask)
    assert abs(path.length - length) <= 3.0
    steps = np.abs(np.diff(path.pixels, axis=0))
    assert steps.max() <= 1 and (steps.sum(axis=1) > 0).all()  # 8-connected, no repeats
    assert np.all(np.diff(path.arc) > 0)
    ends = {tuple(path.pixels[0][::-1]), tuple(path.pixels[-1][::-1])}
    assert min(math.dist(e, START) for e in ends) <= 3 and min(math.dist(e, END) for e in ends) <= 3
    back = crack_path_order(mask, reverse=True)
    assert np.array_equal(back.pixels[0], path.pixels[-1])
    assert back.along[tuple(back.pixels[0])] == 0.0
    assert back.along[tuple(path.pixels[0])] == pytest.approx(path.length, abs=1e-6)


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.85])
def test_truncation_keeps_prefix_and_erases_the_rest(
    scene: tuple[np.ndarray, np.ndarray, float], fraction: float
) -> None:
    img, mask, _ = scene
    full = crack_path_order(mask)
    out, kept = truncate_crack(img, mask, fraction, np.random.default_rng(3))
    assert kept.any() and not (kept & ~mask).any()
    assert abs(crack_path_order(kept).length - fraction * full.length) <= 2.0
    removed = mask & ~kept
    grey = out.astype(np.float32).mean(axis=2)
    assert abs(float(grey[removed].mean()) - BG) <= 6.0
    # no dark crack pixel left, except right beside the kept tip
    beside = cv2.dilate(kept.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert np.mean(grey[removed & ~beside] < BG - 35) < 0.01
    far = cv2.dilate(mask.astype(np.uint8), np.ones((15, 15), np.uint8)) == 0
    assert np.array_equal(out[far], img[far])
    assert np.array_equal(out[kept], img[kept])


def test_fraction_bounds(scene: tuple[np.ndarray, np.ndarray, float]) -> None:
    img, mask, _ = scene
    out, kept = truncate_crack(img, mask, 1.0, np.random.default_rng(0))
    assert np.array_equal(out, img) and np.array_equal(kept, mask)
    out, kept = truncate_crack(img, mask, 0.0, np.random.default_rng(0))
    assert not kept.any()
    assert abs(float(out[mask].astype(np.float32).mean()) - BG) <= 6.0
    with pytest.raises(ScenarioInputError, match="fraction"):
        truncate_crack(img, mask, 1.5, np.random.default_rng(0))


def test_other_cracks_untouched_and_deterministic(scene: tuple[np.ndarray, np.ndarray, float]) -> None:
    img, mask, _ = scene
    other = np.zeros_like(mask)
    other[110:113, 20:80] = True
    img2 = img.copy()
    img2[other] = (40, 40, 40)
    both = mask | other
    out_a, kept_a = truncate_crack(img2, both, 0.5, np.random.default_rng(7))
    out_b, kept_b = truncate_crack(img2, both, 0.5, np.random.default_rng(7))
    assert np.array_equal(out_a, out_b) and np.array_equal(kept_a, kept_b)
    assert np.array_equal(kept_a & other, other)
    assert np.array_equal(out_a[other], img2[other])


def test_cuts_are_nested_and_tips_tapered(scene: tuple[np.ndarray, np.ndarray, float]) -> None:
    img, mask, _ = scene
    path = crack_path_order(mask)
    eraser = CrackEraser(img, mask, mask, path, np.random.default_rng(1))
    previous = np.zeros_like(mask)
    for cut in np.linspace(10, path.length, 7):
        kept = kept_part(path, mask, float(cut))
        assert not (previous & ~kept).any()
        previous = kept
    img_cut, kept = eraser.erase(0.5 * path.length)
    assert np.array_equal(kept, kept_part(path, mask, 0.5 * path.length))
    assert img_cut.shape == img.shape
    # the last px before the cut keep only the axis
    near_tip = (path.along > 0.5 * path.length - 2) & kept
    assert near_tip.any() and (path.offaxis[near_tip] <= 1.0).all()


def test_grey_images_work(scene: tuple[np.ndarray, np.ndarray, float]) -> None:
    img, mask, _ = scene
    out, kept = truncate_crack(img[:, :, 1].copy(), mask, 0.5, np.random.default_rng(0))
    assert out.ndim == 2 and kept.sum() < mask.sum()


def test_bad_inputs_raise_clear_errors(scene: tuple[np.ndarray, np.ndarray, float]) -> None:
    img, mask, _ = scene
    rng = np.random.default_rng(0)
    with pytest.raises(ScenarioInputError, match="no crack pixel"):
        truncate_crack(img, np.zeros_like(mask), 0.5, rng)
    with pytest.raises(ScenarioInputError, match="same height and width"):
        truncate_crack(img[:-1], mask, 0.5, rng)
    with pytest.raises(ScenarioInputError, match="uint8"):
        truncate_crack(img.astype(np.float32), mask, 0.5, rng)  # type: ignore[arg-type]
    with pytest.raises(ScenarioInputError, match="2-D"):
        largest_component(mask[None])
    assert issubclass(ScenarioInputError, GeowarnError) and issubclass(ScenarioInputError, ValueError)
