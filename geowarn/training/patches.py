"""Crack / no-crack patch sets cut from segmentation pairs (``geowarn patches``).

Windows of ``size`` px on a ``stride`` grid over every image: a window is a crack patch when its
centre region (``center`` x size per side) holds at least ``min_crack_px`` crack pixels, and a
no-crack patch when the mask dilated by ``margin`` px is empty over it. Optional extra negatives
are random windows of crack-free GeoTIFFs, read window by window. The selection is seeded;
``OUT/patches.json`` records the source file, window and label of every patch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from geowarn.errors import ConfigError, OutputError
from geowarn.io.images import read_mask, read_rgb
from geowarn.provenance import write_json_atomic
from geowarn.training.datasets import mostly_valid
from geowarn.training.folders import Sample, pair_samples, split_dirs


@dataclass(frozen=True)
class PatchOptions:
    """How patches are cut and selected."""

    size: int = 64
    stride: int | None = None
    center: float = 0.5
    min_crack_px: int = 10
    margin: int = 8
    balance: bool = True
    max_per_class: int | None = None
    geotiffs: tuple[Path, ...] = field(default_factory=tuple)
    geotiff_windows: int = 50
    seed: int = 0


@dataclass(frozen=True)
class Window:
    """One patch: where it comes from (x, y of the top-left corner) and its label."""

    source: str
    x: int
    y: int
    crack: bool
    raster: bool = False


def _window_sums(mask: NDArray[np.uint8], size: int, offset: int, side: int, stride: int) -> NDArray[np.int64]:
    """Sum of ``mask`` over the ``side`` box at ``offset`` inside each grid window."""
    integral: NDArray[np.int64] = np.asarray(cv2.integral(mask.astype(np.uint8)), dtype=np.int64)
    h, w = mask.shape
    ys = np.arange(0, h - size + 1, stride)[:, None] + offset
    xs = np.arange(0, w - size + 1, stride)[None, :] + offset
    corners = integral[ys + side, xs + side] - integral[ys, xs + side] - integral[ys + side, xs] + integral[ys, xs]
    return np.asarray(corners, dtype=np.int64)


def pad_to(array: NDArray[Any], size: int) -> NDArray[Any]:
    """Reflect-pad an image or mask smaller than ``size`` on a side."""
    ph, pw = max(0, size - array.shape[0]), max(0, size - array.shape[1])
    if not (ph or pw):
        return array
    return np.pad(array, ((0, ph), (0, pw)) + ((0, 0),) * (array.ndim - 2), mode="reflect")


def pair_windows(mask: NDArray[np.uint8], source: str, opts: PatchOptions) -> list[Window]:
    """Crack and crack-free grid windows of one mask."""
    size, stride = opts.size, opts.stride or opts.size // 2
    mask = pad_to(mask, size)
    side = max(1, round(size * opts.center))
    crack = _window_sums(mask, size, (size - side) // 2, side, stride)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * opts.margin + 1, 2 * opts.margin + 1))
    dilated = np.asarray(cv2.dilate(mask, kernel), dtype=np.uint8) if opts.margin else mask
    anywhere = _window_sums(dilated, size, 0, size, stride)
    windows = []
    for iy, ix in np.ndindex(crack.shape):
        y, x = iy * stride, ix * stride
        if crack[iy, ix] >= opts.min_crack_px:
            windows.append(Window(source, x, y, True))
        elif anywhere[iy, ix] == 0:
            windows.append(Window(source, x, y, False))
    return windows


def geotiff_windows(path: Path, opts: PatchOptions, rng: np.random.Generator) -> list[tuple[Window, NDArray[np.uint8]]]:
    """Random crack-free windows of a GeoTIFF (no-data windows skipped), read one by one."""
    import rasterio
    from rasterio.windows import Window as RasterWindow

    out = []
    with rasterio.open(path) as src:
        if src.count < 3 or src.height < opts.size or src.width < opts.size:
            raise ConfigError(f"{path}: needs 3+ bands and at least {opts.size} px per side for --geotiff")
        for _ in range(opts.geotiff_windows):
            y = int(rng.integers(0, src.height - opts.size + 1))
            x = int(rng.integers(0, src.width - opts.size + 1))
            data = src.read(indexes=[1, 2, 3], window=RasterWindow(x, y, opts.size, opts.size))
            if data.dtype != np.uint8:
                data = np.clip(data / max(float(data.max()), 1.0) * 255.0, 0, 255).astype(np.uint8)
            crop = np.ascontiguousarray(np.moveaxis(data, 0, -1))
            if mostly_valid(crop):
                out.append((Window(str(path), x, y, False, raster=True), crop))
    return out


def _select(windows: list[Window], count: int, rng: np.random.Generator) -> list[Window]:
    picks = rng.permutation(len(windows))[:count]
    return [windows[i] for i in sorted(picks)]


def make_patches(samples: list[Sample], out: Path, opts: PatchOptions, force: bool = False) -> dict[str, Any]:
    """Cut, select and write the patch set; returns the manifest (also ``OUT/patches.json``)."""
    if (out / "patches.json").exists() and not force:
        raise OutputError(f"{out} already holds a patch set (patches.json); pass --force or pick another --out")
    rng = np.random.default_rng(opts.seed)
    candidates: list[Window] = []
    for sample in samples:
        assert sample.mask is not None
        candidates += pair_windows(read_mask(sample.mask), str(sample.image), opts)
    raster = [w for path in opts.geotiffs for w in geotiff_windows(path, opts, rng)]
    positives = [w for w in candidates if w.crack]
    negatives = [w for w in candidates if not w.crack] + [w for w, _ in raster]
    n_pos, n_neg = len(positives), len(negatives)
    if opts.balance:
        n_pos = n_neg = min(n_pos, n_neg)
    if opts.max_per_class is not None:
        n_pos, n_neg = min(n_pos, opts.max_per_class), min(n_neg, opts.max_per_class)
    chosen = _select(positives, n_pos, rng) + _select(negatives, n_neg, rng)
    for label in ("crack", "no_crack"):
        (out / label).mkdir(parents=True, exist_ok=True)
        for old in (out / label).glob("*.png"):
            old.unlink()
    by_source: dict[str, list[Window]] = defaultdict(list)
    for w in chosen:
        by_source[w.source].append(w)
    crops = {(w.source, w.x, w.y): crop for w, crop in raster}
    rows = []
    names = {source: i for i, source in enumerate(dict.fromkeys(w.source for w in chosen))}
    for source, windows in by_source.items():
        image = None if windows[0].raster else pad_to(read_rgb(Path(source)), opts.size)
        for w in windows:
            crop = crops[w.source, w.x, w.y] if image is None else image[w.y : w.y + opts.size, w.x : w.x + opts.size]
            label = "crack" if w.crack else "no_crack"
            name = f"{label}/{names[source]:05d}_{Path(source).stem}_x{w.x}_y{w.y}.png"
            Image.fromarray(np.ascontiguousarray(crop)).save(out / name)
            rows.append({"file": name, "label": label, "source": source, "window": [w.x, w.y, opts.size, opts.size]})
    options = {k: [str(p) for p in v] if k == "geotiffs" else v for k, v in asdict(opts).items()}
    manifest = {
        "options": options,
        "counts": {
            "crack": n_pos,
            "no_crack": n_neg,
            "candidates_crack": len(positives),
            "candidates_no_crack": len(negatives),
        },
        "sources": [str(s.image) for s in samples],
        "patches": rows,
    }
    write_json_atomic(out / "patches.json", manifest)
    return manifest


def pair_folder_samples(folders: list[Path], split: str | None, limit: int | None) -> list[Sample]:
    """Image/mask pairs of ``split`` in each folder (first ``limit`` per folder)."""
    return [s for folder in folders for d in split_dirs(folder, split) for s in pair_samples(d)[:limit]]
