"""Crack datasets from folders: segmentation pairs, crack-free backgrounds and patch sets.

Layout expected for segmentation (the ``crack-seg`` convention)::

    ROOT/<source>/<split>/images/NAME.(jpg|png)
    ROOT/<source>/<split>/masks/NAME.png      # 0 background, 255 crack
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from geowarn.errors import ConfigError
from geowarn.io.images import image_files, read_mask, read_rgb

#: Real crack-free rasters used as backgrounds. australia.tif is never used for training: it is
#: the false-alarm test raster. test_tiled.tif is the validation background.
BACKGROUND_GEOTIFFS = {
    "train": (
        "5b90f92da0d7280005fab355_4310.tif",
        "5dded5bc0140b80006d2e565_23.tif",
        "OSBS_029.tif",
        "2018_SJER_3_252000_4107000_image_477.tif",
        "webodm_orthophoto.tif",
        "Ortho-DroneMapper_center100.tif",
    ),
    "val": ("test_tiled.tif",),
}
#: Share of the brickwork no-crack patches (sorted by name) used for training; the rest validate.
BRICK_TRAIN_SHARE = 0.8


@dataclass(frozen=True)
class SegPair:
    """One image with its crack mask."""

    image: Path
    mask: Path
    source: str
    split: str


def discover_pairs(root: Path, split: str, sources: Iterable[str] | None = None) -> list[SegPair]:
    """All image/mask pairs of ``split`` under ``root``, sorted for reproducibility."""
    if not root.is_dir():
        raise ConfigError(f"segmentation data folder {root} does not exist; point --data at it")
    wanted = set(sources) if sources is not None else None
    pairs: list[SegPair] = []
    for source_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if wanted is not None and source_dir.name not in wanted:
            continue
        pairs += [SegPair(image, mask, source_dir.name, split) for image, mask in folder_pairs(source_dir / split)]
    return pairs


def folder_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """(image, mask) pairs of ``folder/images`` and ``folder/masks`` matched by stem (mask NAME.png)."""
    image_dir = folder / "images"
    if not image_dir.is_dir():
        return []
    pairs = [(image, folder / "masks" / (image.stem + ".png")) for image in image_files(image_dir)]
    return [(image, mask) for image, mask in pairs if mask.exists()]


def load_pairs(pairs: Sequence[SegPair]) -> list[tuple[NDArray[np.uint8], NDArray[np.uint8]]]:
    """Decode all pairs into memory (the crack sets are small)."""
    return [(read_rgb(p.image), read_mask(p.mask)) for p in pairs]


def crack_free_crops(
    images: Sequence[NDArray[np.uint8]], size: int, per_image: int, rng: np.random.Generator
) -> list[NDArray[np.uint8]]:
    """Random ``size`` x ``size`` crops from crack-free images (backgrounds)."""
    crops: list[NDArray[np.uint8]] = []
    for image in images:
        h, w = image.shape[:2]
        if h < size or w < size:
            continue
        for _ in range(per_image):
            y = int(rng.integers(0, h - size + 1))
            x = int(rng.integers(0, w - size + 1))
            crop = image[y : y + size, x : x + size]
            if mostly_valid(crop):
                crops.append(np.ascontiguousarray(crop))
    return crops


def mostly_valid(crop: NDArray[np.uint8], share: float = 0.9) -> bool:
    """Whether more than ``share`` of the crop's pixels are not (near-black) no-data."""
    return bool((crop.max(axis=2) > 8).mean() > share)


def read_geotiff_rgb(path: Path, max_side: int = 4096) -> NDArray[np.uint8]:
    """First three bands of a GeoTIFF as H x W x 3 uint8 (training backgrounds only)."""
    import rasterio

    with rasterio.open(path) as src:
        data = src.read(indexes=[1, 2, 3], out_shape=(3, min(src.height, max_side), min(src.width, max_side)))
    if data.dtype != np.uint8:
        data = np.clip(data / max(float(data.max()), 1.0) * 255.0, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.moveaxis(data, 0, -1))


def _split_sorted(paths: list[Path], split: Literal["train", "val"]) -> list[Path]:
    cut = int(len(paths) * BRICK_TRAIN_SHARE)
    return paths[:cut] if split == "train" else paths[cut:]


def background_images(data: Path, split: Literal["train", "val"]) -> list[NDArray[np.uint8]]:
    """Crack-free real images of ``split``: aerial/drone GeoTIFFs and brick walls."""
    images = [
        read_geotiff_rgb(data / "geotiff" / n) for n in BACKGROUND_GEOTIFFS[split] if (data / "geotiff" / n).exists()
    ]
    brick = sorted((data / "crack-cls" / "brickwork" / "no_crack").glob("*.jpg"))
    return images + [read_rgb(p) for p in _split_sorted(brick, split)]


def brick_crack_images(data: Path, split: Literal["train", "val"]) -> list[NDArray[np.uint8]]:
    """Brick-wall patches labelled as cracked, split like the crack-free ones."""
    paths = sorted((data / "crack-cls" / "brickwork" / "crack").glob("*.jpg"))
    return [read_rgb(p) for p in _split_sorted(paths, split)]


def background_pool(
    images: Sequence[NDArray[np.uint8]],
    size: int,
    rng: np.random.Generator,
    per_image: int,
    per_large_image: int,
    synthetic: int,
) -> list[NDArray[np.uint8]]:
    """Crack-free ``size`` px crops of ``images`` and of synthetic terrain, drawn with ``rng``.

    In this order: ``per_image`` from each image (smaller images give none), ``per_large_image``
    more from each image at least 1024 px on both sides, then ``synthetic`` terrain crops.
    """
    crops = crack_free_crops(images, size, per_image, rng)
    crops += crack_free_crops([im for im in images if min(im.shape[:2]) >= 1024], size, per_large_image, rng)
    return crops + synthetic_backgrounds(synthetic, size, rng)


def synthetic_backgrounds(count: int, size: int, rng: np.random.Generator) -> list[NDArray[np.uint8]]:
    """Crack-free crops of the synthetic slope terrain (domain randomisation for soil/gravel).

    Seeds are drawn from 10,000 upwards, away from the demo scene's seed.
    """
    from geowarn.harness.synthetic import render_terrain

    crops = []
    for _ in range(count):
        seed = int(rng.integers(10_000, 1_000_000))
        col, row = (int(v) for v in rng.integers(0, 100_000, 2))
        crops.append(np.ascontiguousarray(render_terrain(col, row, size, size, seed)))
    return crops
