"""Natural ground for training: frame split, synthetic shadows, crack transplants."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from geowarn.errors import ConfigError
from geowarn.harness.natural import (
    canopy_shadows,
    cast_shadows,
    frame_of,
    natural_files,
    transplant,
)
from geowarn.training.defaults_data import natural_negatives, natural_transplants


def _ground(seed: int, side: int = 128) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.array([150, 130, 100], np.float32) + rng.normal(0, 6, (side, side, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


@pytest.fixture
def natural_data(tmp_path: Path) -> Path:
    folder = tmp_path / "natural" / "no-crack"
    folder.mkdir(parents=True)
    for frame in range(10):
        for k in range(2):
            Image.fromarray(_ground(frame * 2 + k, 64)).save(folder / f"IMG_{9000 + frame}_{k}.jpg")
    return tmp_path


def test_split_keeps_both_crops_of_a_frame_on_one_side(natural_data: Path) -> None:
    splits = {s: natural_files(natural_data, s) for s in ("train", "val", "test")}
    frames = {s: {frame_of(p) for p in files} for s, files in splits.items()}
    assert [len(frames[s]) for s in ("train", "val", "test")] == [6, 2, 2]
    assert not (frames["train"] & frames["val"]) and not (frames["val"] & frames["test"])
    assert all(len(files) == 2 * len(frames[s]) for s, files in splits.items())
    assert max(frames["train"]) < min(frames["val"]) < min(frames["test"])  # contiguous blocks in flight order


def test_missing_natural_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="natural/no-crack"):
        natural_files(tmp_path, "test")


def _widths(shade_mask: np.ndarray) -> float:
    """Median local width (px) of a binary mask: twice the distance to its edge on its skeleton."""
    from skimage.morphology import skeletonize

    dist = cv2.distanceTransform(shade_mask.astype(np.uint8), cv2.DIST_L2, 5)
    skeleton = skeletonize(shade_mask)
    return float(np.median(2 * dist[skeleton])) if skeleton.any() else 0.0


def test_cast_shadows_are_wider_than_thin_cracks_and_darken_only() -> None:
    ground = np.full((256, 256, 3), 160, np.uint8)
    widths = []
    for seed in range(8):
        out = cast_shadows(ground, np.random.default_rng(seed))
        assert (out <= ground).all()
        dark = out[..., 0] < 140
        assert dark.any()
        widths.append(_widths(dark))
    assert np.median(widths) >= 5.0, widths


def test_canopy_shadows_are_broad_patches() -> None:
    ground = np.full((256, 256, 3), 160, np.uint8)
    out = canopy_shadows(ground, np.random.default_rng(1))
    dark = out[..., 0] < 140
    assert dark.mean() > 0.05
    assert _widths(dark) > 20


def test_transplant_darkens_along_the_crack_only() -> None:
    ground = _ground(0)
    crack_image = np.full((128, 128, 3), 120, np.uint8)
    mask = np.zeros((128, 128), np.uint8)
    mask[60:63, 10:118] = 1
    crack_image[mask > 0] = 30
    out, out_mask = transplant(ground, crack_image, mask, np.random.default_rng(0))
    assert (out_mask == mask).all()
    inside = out[mask > 0].astype(float).mean()
    assert inside < 0.6 * ground[mask > 0].astype(float).mean()
    far = np.ones_like(mask, bool)
    far[55:68] = False
    assert (out[far] == ground[far]).all()


def test_transplant_rejects_size_mismatch() -> None:
    with pytest.raises(ValueError, match="differ in size"):
        transplant(_ground(0, 64), _ground(1, 128), np.zeros((128, 128), np.uint8), np.random.default_rng(0))


def test_natural_patches_are_seeded_and_counted() -> None:
    grounds = [_ground(i, 300) for i in range(3)]
    crack = _ground(9, 150)
    mask = np.zeros((150, 150), np.uint8)
    mask[:, 70:74] = 1
    a = natural_negatives(grounds, 5, 64, 0.5, np.random.default_rng(3))
    b = natural_negatives(grounds, 5, 64, 0.5, np.random.default_rng(3))
    assert len(a) == 5 and all((x == y).all() for x, y in zip(a, b, strict=True))
    planted = natural_transplants(grounds, [(crack, mask)], 4, 64, 0.0, np.random.default_rng(3))
    assert len(planted) == 4 and all(m.sum() >= 30 and im.shape == (64, 64, 3) for im, m in planted)
