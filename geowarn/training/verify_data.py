"""Training and calibration data for the crack verifier: the segmenter's own candidates.

The verifier (:mod:`geowarn.inference.verify`) judges what the shipped segmenter and shape filters
report, so it learns from exactly that: every scene below is run through ``detect`` (every tile
segmented, at the natural frames' 2 cm), and each reported crack becomes up to three 128-px
patches centred on its pixels: ``crack`` when at least half of its pixels lie within 2 px of a true
crack, ``no_crack`` when under a tenth do (in between: skipped).

Scenes of ``train`` / ``val`` (the test frames, test splits and ``geotiff/australia.tif`` are never read):

- natural/no-crack frames of the split, as they are and under synthetic tree shadows;
- real cracks of the crack-seg split (train: every source; val: the selection sources)
  transplanted onto those frames (256 px);
- crack-seg images of the split at their own size;
- with ``--balance-sources`` (train only; not how the shipped weights were made, see the model
  card): the crack sources weigh alike, a crack of the 93 rock-face photos of rockfrac-liyihui
  drawn as often as one of the 2,000 pavement photos of crack500;
- train only: crack-free crops of the background rasters and brick walls;
- sunlit vegetation with hard shadows: a 10 cm raster (train ``OSBS_029``, val ``SJER``) enlarged
  2-4 times and read as 2 cm ground, in four orientations: trees at 10 cm look like shrubs at 2 cm
  (drawn with a seed of their own).

    python -m geowarn.training.verify_data --data ../shared/data --out runs/verify-data
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import rasterio
from numpy.typing import NDArray
from PIL import Image

from geowarn.harness.natural import detected_mask, natural_images, shadowed
from geowarn.inference.cascade import Cascade
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.pipeline.rows import load_cascade
from geowarn.training.datasets import SegPair, background_images, crack_free_crops, discover_pairs, load_pairs
from geowarn.training.defaults_data import SELECTION_SOURCES, natural_transplants

Split = Literal["train", "val"]
Image8 = NDArray[np.uint8]
#: Side of a verifier patch (``geowarn.inference.verify.PATCH_PX``).
PATCH = 128
#: Enlarged 10 cm rasters of sunlit vegetation, per split.
VEGETATION = {"train": "OSBS_029.tif", "val": "2018_SJER_3_252000_4107000_image_477.tif"}


@dataclass(frozen=True)
class VerifyDataOptions:
    """How many scenes of each kind, and the seeds."""

    transplants: int = 500
    val_transplants: int = 120
    crack_images: int = 500
    val_crack_images: int = 150
    background_crops: int = 6
    small_backgrounds: int = 150
    vegetation_scales: tuple[int, ...] = (2, 3, 4)
    per_candidate: int = 3
    seed: int = 11
    balance_sources: bool = False


def scenes(
    data: Path, split: Split, opts: VerifyDataOptions, rng: np.random.Generator
) -> Iterator[tuple[str, Image8, Image8 | None]]:
    """(kind, RGB image, crack mask or None for crack-free ground) of ``split``, in a fixed order.

    Kinds (the patch files' prefixes): ``nat`` / ``natsh`` natural frames without / with synthetic
    shadows, ``tp`` transplanted cracks, ``seg`` crack photos, ``bg`` crops of the large background
    rasters, ``brick`` the small ones (brick walls, mostly).
    """
    grounds = natural_images(data, split)
    for image in grounds:
        yield "nat", image, None
        yield "natsh", shadowed(image, rng), None
    found = discover_pairs(data / "crack-seg", split, None if split == "train" else list(SELECTION_SOURCES))
    pairs = load_pairs(found)
    balance = opts.balance_sources and split == "train"
    n_transplants = opts.transplants if split == "train" else opts.val_transplants
    draw = [pairs[i] for i in source_balanced(found)] if balance else pairs
    for image, mask in natural_transplants(grounds, draw, n_transplants, 256, 0.4, rng):
        yield "tp", image, mask
    n_images = opts.crack_images if split == "train" else opts.val_crack_images
    chosen = (
        balanced_choice(found, n_images, rng) if balance else rng.choice(len(pairs), min(len(pairs), n_images), False)
    )
    for j in chosen:
        image, mask = pairs[int(j)]
        yield "seg", image, (mask > 0).astype(np.uint8)
    if split == "train":
        backgrounds = background_images(data, "train")
        big = [b for b in backgrounds if min(b.shape[:2]) >= 1024]
        for crop in crack_free_crops(big, 1024, opts.background_crops, rng):
            yield "bg", crop, None
        for image in [b for b in backgrounds if min(b.shape[:2]) < 1024][: opts.small_backgrounds]:
            yield "brick", image, None


def _by_source(pairs: Sequence[SegPair]) -> list[list[int]]:
    """Indices of ``pairs`` grouped by source, in order of first appearance."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        groups[pair.source].append(i)
    return list(groups.values())


def source_balanced(pairs: Sequence[SegPair]) -> list[int]:
    """Indices of ``pairs``, each source's repeated up to the largest one's count.

    A uniform draw from them draws every source alike.
    """
    groups = _by_source(pairs)
    most = max((len(g) for g in groups), default=0)
    return [i for g in groups for i in (g * -(-most // len(g)))[:most]]


def balanced_choice(pairs: Sequence[SegPair], n: int, rng: np.random.Generator) -> list[int]:
    """About ``n`` indices of ``pairs`` without repeats, an equal share of each source (all of a smaller one)."""
    groups = _by_source(pairs)
    share = -(-n // max(len(groups), 1))
    return [int(i) for g in groups for i in rng.choice(g, size=min(len(g), share), replace=False)]


def vegetation_views(path: Path, scales: tuple[int, ...]) -> Iterator[tuple[str, Image8, None]]:
    """``path`` enlarged by each of ``scales`` (cubic), in four orientations."""
    if not path.exists():
        return
    with rasterio.open(path) as src:
        image = np.ascontiguousarray(np.moveaxis(src.read([1, 2, 3]), 0, -1))
    for scale in scales:
        big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        for k in range(4):
            yield "veg", np.ascontiguousarray(np.rot90(big, k) if k < 3 else big[:, ::-1]), None


def near_truth(truth: Image8 | None) -> NDArray[np.bool_] | None:
    """Pixels within 2 px of a true crack (a 5 x 5 square around each), or None without ``truth``."""
    return None if truth is None else np.asarray(cv2.dilate(truth.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)


def candidate_labels(
    image: Image8, near: NDArray[np.bool_] | None, cascade: Cascade, tmp: Path
) -> tuple[NDArray[np.int32], list[float]]:
    """Label image of the cracks ``detect`` reports on ``image``, and each one's share of true crack.

    ``detect`` segments every tile at 2 cm; the share is of the crack's pixels in ``near``
    (:func:`near_truth`; 0 without it).
    """
    config = DetectConfig(classifier=None, verifier=None, device=str(cascade.device))
    mask = detected_mask(image, tmp, config, cascade).astype(np.uint8)
    n, found = cv2.connectedComponents(mask, connectivity=8)
    labels = np.asarray(found, np.int32)  # connectedComponents' labels are int32 already
    if near is None:
        return labels, [0.0] * (n - 1)
    return labels, [float(near[labels == i].mean()) for i in range(1, n)]


def candidate_patches(
    image: Image8, truth: Image8 | None, cascade: Cascade, tmp: Path, rng: np.random.Generator, per_candidate: int
) -> dict[str, list[Image8]]:
    """``crack`` / ``no_crack`` patches centred on pixels of each reported crack."""
    near = near_truth(truth)
    labels, shares = candidate_labels(image, near, cascade, tmp)
    half = PATCH // 2
    padded = np.asarray(cv2.copyMakeBorder(image, half, half, half, half, cv2.BORDER_REFLECT_101), np.uint8)
    out: dict[str, list[Image8]] = {"crack": [], "no_crack": []}
    for i, share in enumerate(shares, start=1):
        if 0.1 < share < 0.5:
            continue
        label = "crack" if share >= 0.5 else "no_crack"
        pixels = labels == i
        ys, xs = np.nonzero(pixels & near if label == "crack" and near is not None else pixels)
        for j in rng.choice(len(ys), size=min(per_candidate, len(ys)), replace=False):
            out[label].append(padded[ys[j] : ys[j] + PATCH, xs[j] : xs[j] + PATCH])
    return out


def write_verify_data(data: Path, out: Path, opts: VerifyDataOptions) -> dict[str, int]:
    """Write ``out/{train,val}/{crack,no_crack}/*.png``; returns the patch counts."""
    cascade = load_cascade(DetectConfig(classifier=None, verifier=None, device="cpu"))
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for offset, split in enumerate(("train", "val")):
            for label in ("crack", "no_crack"):
                (out / split / label).mkdir(parents=True, exist_ok=True)
            rng = np.random.default_rng(opts.seed + offset)
            vegetation_rng = np.random.default_rng(opts.seed + 20 + offset)
            groups = (
                (scenes(data, split, opts, rng), rng),  # type: ignore[arg-type]
                (vegetation_views(data / "geotiff" / VEGETATION[split], opts.vegetation_scales), vegetation_rng),
            )
            for group, group_rng in groups:
                numbers = {"crack": 0, "no_crack": 0}  # file numbers, per group and label
                for kind, image, truth in group:
                    found = candidate_patches(image, truth, cascade, Path(tmp) / "scene", group_rng, opts.per_candidate)
                    for label, patches in found.items():
                        for patch in patches:
                            Image.fromarray(patch).save(out / split / label / f"{kind}-{numbers[label]:06d}.png")
                            numbers[label] += 1
            for label in ("crack", "no_crack"):
                counts[f"{split}_{label}"] = len(list((out / split / label).glob("*.png")))
    return counts


def main(argv: list[str] | None = None) -> None:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=Path("runs/verify-data"), help="output folder")
    parser.add_argument("--balance-sources", action="store_true", help="draw every crack source alike (train)")
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"error: {args.out} is not empty; remove it or choose another --out")
    print(write_verify_data(args.data, args.out, VerifyDataOptions(balance_sources=args.balance_sources)))


if __name__ == "__main__":
    main()
