"""A large orthomosaic of real drone imagery with real crack imagery pasted in, for benchmarks.

The ground is made of the crack-free nadir drone frames of ``natural/no-crack`` (1536 px,
about 2 cm per pixel), each flipped or turned at random, laid on a grid with 128 px of
overlap and cross-faded there, as an orthomosaic is blended from overlapping frames.
Into a given fraction of the 256 px tiles, one crack of the ``crack-seg/*/test`` photos
is pasted: the photo is scaled so that its crack is 2-6 px wide (4-12 cm at 2 cm per
pixel), and the ground under the crack (its mask, grown by one pixel and softened) is
shaded by the crack's darkness relative to the photo's surrounding pavement, so that
the crack, not the pavement, is transferred. Written strip by strip, tiled and DEFLATE
compressed, in EPSG:32614 at 2 cm.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import rasterio
from numpy.typing import NDArray
from rasterio.transform import from_origin
from rasterio.windows import Window
from skimage.morphology import skeletonize

from geowarn.harness.natural import crack_shading

FRAME = 1536
OVERLAP = 128
PITCH = FRAME - OVERLAP
TILE = 256
BLOCK = 512
GSD_M = 0.02
CRACK_SOURCES = ("crackforest", "gaps384", "shadowcrack", "aiglern-trimm")


@dataclass
class Paste:
    """A crack patch and the top-left pixel it goes to."""

    row: int
    col: int
    alpha: NDArray[np.float32]
    shade: NDArray[np.float32]


def _rgb(path: Path) -> NDArray[np.uint8]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def _turn(image: NDArray[np.generic], rng: np.random.Generator) -> NDArray[np.generic]:
    """A random one of the 8 flips and quarter turns."""
    image = np.rot90(image, int(rng.integers(4)))
    return np.ascontiguousarray(image[:, ::-1] if rng.random() < 0.5 else image)


def _ramp(n: int) -> NDArray[np.float32]:
    """Frame weight along one axis: linear over the overlap at both ends."""
    w = np.ones(n, np.float32)
    up = (np.arange(OVERLAP, dtype=np.float32) + 0.5) / OVERLAP
    w[:OVERLAP], w[-OVERLAP:] = up, up[::-1]
    return w


def crack_patch(
    image: NDArray[np.uint8], mask: NDArray[np.bool_], rng: np.random.Generator
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Soft alpha and RGB shading factor of a crack photo, scaled to a 2-6 px wide crack."""
    skeleton_px = max(int(skeletonize(mask).sum()), 1)
    width_px = mask.sum() / skeleton_px
    scale = float(np.clip(rng.uniform(2.0, 6.0) / max(width_px, 0.5), 0.15, 1.5))
    size = (max(8, round(image.shape[1] * scale)), max(8, round(image.shape[0] * scale)))
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.35
    alpha, shade = crack_shading(image, mask)
    turned = _turn(np.concatenate([alpha[..., None], shade], axis=2), rng)
    return turned[..., 0], turned[..., 1:]


def _pastes(data: Path, size: int, fraction: float, rng: np.random.Generator) -> list[Paste]:
    """Crack patches for ``fraction`` of the tiles, each centred in its tile."""
    pairs = [
        (img, img.parent.parent / "masks" / (img.stem + ".png"))
        for source in CRACK_SOURCES
        for img in sorted((data / "crack-seg" / source / "test" / "images").glob("*"))
    ]
    tiles = (size // TILE) ** 2
    chosen = rng.choice(tiles, size=round(fraction * tiles), replace=False)
    out = []
    for t in sorted(chosen.tolist()):
        img_path, mask_path = pairs[int(rng.integers(len(pairs)))]
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 127
        if not mask.any():
            continue
        alpha, shade = crack_patch(_rgb(img_path), mask, rng)
        h, w = alpha.shape
        row = (t // (size // TILE)) * TILE + TILE // 2 - h // 2
        col = (t % (size // TILE)) * TILE + TILE // 2 - w // 2
        out.append(Paste(row, col, alpha, shade))
    return out


def _apply(rows: NDArray[np.float32], row0: int, pastes: list[Paste]) -> None:
    """Shade the parts of the pastes that fall in ``rows`` (which start at raster row ``row0``)."""
    for p in pastes:
        h, w = p.alpha.shape
        a, b = max(p.row, row0), min(p.row + h, row0 + rows.shape[0])
        c, d = max(p.col, 0), min(p.col + w, rows.shape[1])
        if a >= b or c >= d:
            continue
        alpha = p.alpha[a - p.row : b - p.row, c - p.col : d - p.col, None]
        shade = p.shade[a - p.row : b - p.row, c - p.col : d - p.col]
        rows[a - row0 : b - row0, c:d] *= 1.0 - alpha + alpha * shade


def build_natural(path: Path, size: int, fraction: float, seed: int, data: Path) -> int:
    """Write the natural-ground orthomosaic; returns the number of cracks pasted in."""
    rng = np.random.default_rng(seed)
    frames = sorted((data / "natural" / "no-crack").glob("*.jpg"))
    if not frames:
        raise FileNotFoundError(f"no natural/no-crack frames under {data}; pass --data")
    pastes = _pastes(data, size, fraction, rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = -(-max(size - OVERLAP, 1) // PITCH)  # frames per side
    weight = _ramp(FRAME)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 3,
        "dtype": "uint8",
        "crs": "EPSG:32614",
        "transform": from_origin(500000.0, 3500000.0, GSD_M, GSD_M),
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
    }
    t0 = time.perf_counter()
    carry = np.zeros((0, size, 4), np.float32)
    pending = np.zeros((0, size, 3), np.uint8)
    written = 0
    with rasterio.open(path, "w", **profile) as dst:
        for i in range(n):
            acc = np.zeros((FRAME, n * PITCH + OVERLAP, 4), np.float32)  # RGB * weight, weight
            acc[: carry.shape[0], :size] = carry
            for j in range(n):
                frame = _turn(_rgb(frames[int(rng.integers(len(frames)))]), rng).astype(np.float32)
                w = weight[:, None] * weight[None, :]
                acc[:, j * PITCH : j * PITCH + FRAME, :3] += frame * w[..., None]
                acc[:, j * PITCH : j * PITCH + FRAME, 3] += w
            done = min(PITCH if i < n - 1 else FRAME, size - i * PITCH)
            rows = acc[:done, :size, :3] / acc[:done, :size, 3:]
            _apply(rows, i * PITCH, pastes)
            carry = acc[PITCH:, :size]
            pending = np.concatenate([pending, np.clip(np.rint(rows), 0, 255).astype(np.uint8)])
            full = pending.shape[0] if i == n - 1 else pending.shape[0] // BLOCK * BLOCK
            if full:
                dst.write(pending[:full].transpose(2, 0, 1), window=Window(0, written, size, full))
                written += full
                pending = pending[full:]
    print(
        f"built {path} ({size} x {size} px, {len(pastes)} cracks pasted) in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    return len(pastes)
