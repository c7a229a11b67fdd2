"""Training folders of the shipped cascade, cut from the shared data (``geowarn defaults-data``).

The default models are trained by ``geowarn train`` like any other; this module writes the
folders that ``config/train/tilecls-s.yaml`` and ``config/train/unet-s-epochs.yaml`` read besides
the crack-seg pairs themselves (``config/train/unet-s.yaml`` cuts its crack-free crops itself):

- ``segment-background/train/{images,masks}``: crack-free crops (empty masks) of the training
  background rasters, the first 80 % of the brick walls and the synthetic slope terrain, so the
  segmenter learns what is *not* a crack on ground that is not pavement;
- ``segment-background/val/{images,masks}``: crack-free crops of the validation backgrounds
  (``geotiff/test_tiled.tif``, the last 20 % of the brick walls) and of synthetic terrain with
  other seeds. ``geowarn eval segment`` on this folder reports a segmenter's false-alarm rate on
  crack-free ground (``bg FA %``); listed in ``val_roots`` they would also count against the
  validation F1 (models/MODEL_CARD.md, History, run 3);
- ``gate/{train,val}/{crack,no_crack}``: crack / crack-free patches for the tile gate. Train:
  crops of every crack-seg train split, cracked and plain brick walls, background rasters and
  synthetic terrain. Val: the same from the selection sources only
  (:data:`SELECTION_SOURCES`), the last 20 % of the brick walls and ``geotiff/test_tiled.tif``;
- ``natural-ground/{negatives,transplants}/{train,val}/{images,masks}``: crops of the natural
  crack-free drone frames (half of them under synthetic tree shadows) with empty masks, and
  natural crops with a real crack transplanted into them (:mod:`geowarn.harness.natural`).
  Train uses the train frames and crack-seg train splits, val the validation frames and the
  selection sources' val splits. The gate gets the same kinds of patches in both classes.

Crops are drawn with seeded generators (one for each folder), so the same seed writes the same files;
``defaults-data.json`` records the counts and settings. Nothing of the held-out evaluation
data (test splits, crack500/deepcrack val, ``geotiff/australia.tif``, the natural test frames) is read.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from geowarn.errors import ConfigError, OutputError
from geowarn.harness.natural import NATURAL_FOLDER, NaturalSplit, natural_images, shadowed, transplant
from geowarn.provenance import write_json_atomic
from geowarn.training.datasets import (
    background_images,
    background_pool,
    brick_crack_images,
    crack_free_crops,
    discover_pairs,
    load_pairs,
    synthetic_backgrounds,
)
from geowarn.training.patches import pad_to

#: Sources whose val split selects checkpoints and thresholds; others' val splits stay unseen.
SELECTION_SOURCES = ("gaps384", "shadowcrack", "aiglern-trimm")
MANIFEST = "defaults-data.json"

Patch = NDArray[np.uint8]
Split = Literal["train", "val"]


@dataclass(frozen=True)
class DefaultsDataOptions:
    """How many crops of which size, and the seed that draws them."""

    crop: int = 128
    background_crop: int = 256
    segment_backgrounds: int = 1220
    segment_synthetic: int = 500
    segment_val_synthetic: int = 100
    test_tiled_crops: int = 16
    gate_synthetic: int = 1500
    natural_negatives: int = 2000
    natural_transplants: int = 1500
    natural_val_negatives: int = 240
    natural_val_transplants: int = 300
    gate_natural: int = 1000
    shadowed_share: float = 0.5
    seed: int = 4


def crack_patches(
    pairs: Sequence[tuple[Patch, Patch]],
    crop: int,
    rng: np.random.Generator,
    per_image: int = 2,
    min_crack_px: int = 30,
) -> tuple[list[Patch], list[Patch]]:
    """(crack crops, crack-free crops) at random places of segmentation pairs.

    A crop is a crack patch with at least ``min_crack_px`` crack pixels, crack-free when no
    crack pixel lies within 8 px of it, and dropped otherwise.
    """
    positives: list[Patch] = []
    negatives: list[Patch] = []
    for raw_image, raw_mask in pairs:
        image, mask = pad_to(raw_image, crop), pad_to(raw_mask, crop)
        h, w = mask.shape
        for _ in range(per_image):
            y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
            crack_px = int(mask[y : y + crop, x : x + crop].sum())
            margin = mask[max(0, y - 8) : y + crop + 8, max(0, x - 8) : x + crop + 8].sum()
            if crack_px >= min_crack_px:
                positives.append(np.ascontiguousarray(image[y : y + crop, x : x + crop]))
            elif margin == 0:
                negatives.append(np.ascontiguousarray(image[y : y + crop, x : x + crop]))
    return positives, negatives


def _padded_crops(images: Sequence[Patch], crop: int, rng: np.random.Generator, per_image: int) -> list[Patch]:
    return crack_free_crops([pad_to(im, crop) for im in images], crop, per_image, rng)


def segment_background_crops(data: Path, opts: DefaultsDataOptions, rng: np.random.Generator) -> list[Patch]:
    """``opts.segment_backgrounds`` crack-free crops drawn from the training backgrounds.

    They are ``opts.background_crop`` px, larger than the training crop, so the random crop of
    each epoch shows other ground: more variety for the same share of a batch.
    """
    side = opts.background_crop
    padded = [pad_to(im, side) for im in background_images(data, "train")]
    pool = background_pool(padded, side, rng, per_image=4, per_large_image=200, synthetic=opts.segment_synthetic)
    if len(pool) <= opts.segment_backgrounds:
        return pool
    keep = np.sort(rng.choice(len(pool), opts.segment_backgrounds, replace=False))
    return [pool[int(i)] for i in keep]


def segment_background_val_crops(data: Path, opts: DefaultsDataOptions, rng: np.random.Generator) -> list[Patch]:
    """Crack-free validation crops: one per held-back brick wall, ``test_tiled.tif``, synthetic terrain."""
    side = opts.background_crop
    images = background_images(data, "val")
    small = [im for im in images if min(im.shape[:2]) < side]
    big = [im for im in images if min(im.shape[:2]) >= side]
    crops = _padded_crops(small, side, rng, per_image=1)
    crops += crack_free_crops(big, side, per_image=opts.test_tiled_crops, rng=rng)
    return crops + synthetic_backgrounds(opts.segment_val_synthetic, side, rng)


def _write_background_split(folder: Path, crops: Sequence[Patch]) -> None:
    """``images/bg-N.png`` with an all-zero ``masks/bg-N.png`` beside each."""
    _write_pngs(folder / "images", crops, "bg")
    masks = folder / "masks"
    masks.mkdir(parents=True)
    for i, crop in enumerate(crops):
        Image.fromarray(np.zeros(crop.shape[:2], np.uint8)).save(masks / f"bg-{i:05d}.png")


def gate_patches(
    data: Path, split: Split, opts: DefaultsDataOptions, rng: np.random.Generator
) -> dict[str, list[Patch]]:
    """Crack / no-crack patches of ``split``; val reads only the selection sources."""
    sources = None if split == "train" else SELECTION_SOURCES
    pairs = load_pairs(discover_pairs(data / "crack-seg", split, sources))
    pos, neg = crack_patches(pairs, opts.crop, rng)
    pos += _padded_crops(brick_crack_images(data, split), opts.crop, rng, per_image=1)
    backgrounds = background_images(data, split)
    neg += _padded_crops([b for b in backgrounds if min(b.shape[:2]) < 1024], opts.crop, rng, per_image=2)
    big = [b for b in backgrounds if min(b.shape[:2]) >= 1000]
    neg += crack_free_crops(big, opts.crop, per_image=300 if split == "train" else 150, rng=rng)
    if split == "train":
        neg += synthetic_backgrounds(opts.gate_synthetic, opts.crop, rng)
    if (data / NATURAL_FOLDER).is_dir():
        n = opts.gate_natural if split == "train" else opts.gate_natural // 5
        grounds = natural_images(data, _natural_split(split))
        neg += natural_negatives(grounds, n, opts.crop, opts.shadowed_share, rng)
        pos += [image for image, _ in natural_transplants(grounds, pairs, n, opts.crop, opts.shadowed_share / 2, rng)]
    return {"crack": pos, "no_crack": neg}


def natural_negatives(
    grounds: Sequence[Patch], count: int, side: int, shadow_share: float, rng: np.random.Generator
) -> list[Patch]:
    """``count`` crack-free ``side`` px crops of natural ground, ``shadow_share`` of them shadowed."""
    crops: list[Patch] = []
    for i in rng.integers(0, len(grounds), count):
        crop = crack_free_crops([grounds[int(i)]], side, 1, rng)[0]
        crops.append(shadowed(crop, rng) if rng.random() < shadow_share else crop)
    return crops


def natural_transplants(
    grounds: Sequence[Patch],
    pairs: Sequence[tuple[Patch, Patch]],
    count: int,
    side: int,
    shadow_share: float,
    rng: np.random.Generator,
    min_crack_px: int = 30,
) -> list[tuple[Patch, Patch]]:
    """``count`` natural crops with a real crack of ``pairs`` transplanted into each (image, 0/1 mask)."""
    out: list[tuple[Patch, Patch]] = []
    for _ in range(100 * count):
        if len(out) == count:
            break
        image, mask = (pad_to(a, side) for a in pairs[int(rng.integers(0, len(pairs)))])
        y, x = int(rng.integers(0, mask.shape[0] - side + 1)), int(rng.integers(0, mask.shape[1] - side + 1))
        crack_mask = mask[y : y + side, x : x + side]
        if int(crack_mask.sum()) < min_crack_px:
            continue
        ground = crack_free_crops([grounds[int(rng.integers(0, len(grounds)))]], side, 1, rng)[0]
        if rng.random() < shadow_share:
            ground = shadowed(ground, rng)
        out.append(transplant(ground, image[y : y + side, x : x + side], crack_mask, rng))
    return out


def _natural_split(split: Split) -> NaturalSplit:
    return "train" if split == "train" else "val"


def write_natural_ground(
    data: Path, folder: Path, opts: DefaultsDataOptions, rng: np.random.Generator
) -> dict[str, int]:
    """``negatives/`` and ``transplants/`` (each with ``train`` and ``val``) of natural ground.

    Train reads the train frames and every crack-seg train split; val reads the validation frames
    and the selection sources' val splits. The test frames are never read.
    """
    counts: dict[str, int] = {}
    for split in ("train", "val"):
        grounds = natural_images(data, _natural_split(split))
        sources = None if split == "train" else SELECTION_SOURCES
        pairs = load_pairs(discover_pairs(data / "crack-seg", split, sources))
        n_neg = opts.natural_negatives if split == "train" else opts.natural_val_negatives
        n_tr = opts.natural_transplants if split == "train" else opts.natural_val_transplants
        negatives = natural_negatives(grounds, n_neg, opts.background_crop, opts.shadowed_share, rng)
        _write_background_split(folder / "negatives" / split, negatives)
        planted = natural_transplants(grounds, pairs, n_tr, opts.crop, opts.shadowed_share / 2, rng)
        _write_pngs(folder / "transplants" / split / "images", [p[0] for p in planted], "tp")
        _write_pngs(folder / "transplants" / split / "masks", [p[1] * 255 for p in planted], "tp")
        counts[f"natural_{split}_negatives"] = len(negatives)
        counts[f"natural_{split}_transplants"] = len(planted)
    return counts


def _write_pngs(folder: Path, patches: Sequence[Patch], prefix: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, patch in enumerate(patches):
        Image.fromarray(patch).save(folder / f"{prefix}-{i:05d}.png")


def write_defaults_data(data: Path, out: Path, opts: DefaultsDataOptions, force: bool = False) -> dict[str, Any]:
    """Write both training folders under ``out`` (a new folder, or replaced with ``force``)."""
    if not (data / "crack-seg").is_dir():
        raise ConfigError(f"{data}: no crack-seg folder; point --data at the shared data folder (../shared/data)")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise OutputError(f"{out} is not empty; pass --force to replace it, or choose another --out")
        shutil.rmtree(out)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    counts: dict[str, int] = {}
    backgrounds = segment_background_crops(data, opts, np.random.default_rng([opts.seed, 0]))
    _write_background_split(partial / "segment-background" / "train", backgrounds)
    counts["segment_background"] = len(backgrounds)
    val_backgrounds = segment_background_val_crops(data, opts, np.random.default_rng([opts.seed, 2]))
    _write_background_split(partial / "segment-background" / "val", val_backgrounds)
    counts["segment_background_val"] = len(val_backgrounds)
    if (data / NATURAL_FOLDER).is_dir():
        natural_rng = np.random.default_rng([opts.seed, 3])
        counts.update(write_natural_ground(data, partial / "natural-ground", opts, natural_rng))
    gate_rng = np.random.default_rng([opts.seed, 1])  # its own stream: the gate's patches do not follow the crops
    for split in ("train", "val"):
        for label, patches in gate_patches(data, split, opts, gate_rng).items():
            _write_pngs(partial / "gate" / split / label, patches, label)
            counts[f"gate_{split}_{label}"] = len(patches)
    manifest = {"data": str(data), "options": asdict(opts), "counts": counts}
    write_json_atomic(partial / MANIFEST, manifest)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.rmdir()
    partial.rename(out)
    return manifest
