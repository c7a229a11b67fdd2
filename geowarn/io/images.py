"""Plain image files (photos, masks, drone frames): listing and decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


def image_files(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_rgb(path: Path) -> NDArray[np.uint8]:
    """An image file as an H x W x 3 uint8 array."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def read_mask(path: Path) -> NDArray[np.uint8]:
    """A mask file as an H x W array of 0/1."""
    with Image.open(path) as im:
        return (np.asarray(im.convert("L")) > 127).astype(np.uint8)
