"""Site canvases from real crack images, and the surveys rendered from them.

A world is two held-out crack images stacked vertically with a feathered seam
(``SEAM_PX`` rows). Each image may be flipped; an image is only placed where none of its
crack pixels lies within ``SEAM_CLEAR_PX`` of the seam, so no crack is cut or blended by
it. The lower image's channel means are moved halfway towards the upper one's.

A survey is the world seen with a georeferencing error and another illumination. Its
grid is the world grid moved by the whole-pixel part of the error (the raster origin
stays on the pixel lattice, as orthomosaic exports usually are) and its content is the
world resampled (bicubic) by the sub-pixel rest, so that a ground feature at true map
position P appears at P + offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from rasterio.errors import RasterioIOError
from skimage.morphology import skeletonize

from geowarn.errors import ConfigError, InvalidRasterError, OutputError
from geowarn.harness.scenario.truncate import crack_path_order, largest_component

__all__ = [
    "IMAGE_SUFFIXES",
    "SEAM_CLEAR_PX",
    "SEAM_PX",
    "CrackSample",
    "Illumination",
    "SampleStats",
    "World",
    "apply_illumination",
    "draw_illumination",
    "draw_offset",
    "fit_width",
    "list_samples",
    "load_sample",
    "offset_between",
    "render_survey",
    "sample_stats",
    "stack_world",
    "survey_transform",
    "write_mask_tif",
    "write_rgb_tif",
    "write_survey",
]

IMAGE_SUFFIXES = (".jpg", ".png")
#: Rows over which the two images of a world are blended.
SEAM_PX = 16
#: Crack pixels must lie at least this far (px) from the image edge that meets the seam.
SEAM_CLEAR_PX = SEAM_PX + 8
#: Components wider than this on average (area / skeleton pixels) are blobs, not cracks.
BLOB_WIDTH_PX = 15.0


@dataclass(frozen=True)
class CrackSample:
    """One image / mask pair of a segmentation split.

    Attributes:
        name: File stem.
        image: Path of the image.
        mask: Path of the mask (0 background, 255 crack).
        rel_image: Image path relative to the data folder, as recorded in scenario.json.

    """

    name: str
    image: Path
    mask: Path
    rel_image: str


@dataclass(frozen=True)
class SampleStats:
    """Crack layout of a sample, used to choose where it can serve.

    Attributes:
        trunk_px: Longest skeleton path of the largest crack component (px).
        trunk_share: Share of that component's skeleton pixels on the path (1: no branches).
        trunk_area: Pixel count of that component.
        top_clear: Rows between the top edge and the first crack pixel.
        bottom_clear: Rows between the last crack pixel and the bottom edge.
        blob: Whether a component is a blob (a patch, not a crack).
        contrast: Median darkness (DN) of that component's pixels below their 31 px median.

    """

    trunk_px: float
    trunk_share: float
    trunk_area: int
    top_clear: int
    bottom_clear: int
    blob: bool
    contrast: float = 0.0


@dataclass
class World:
    """A site canvas: RGB image and crack mask, in world pixels.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        mask: (H, W) bool crack mask.
        parts: One entry per placed sample: ``{"image": rel_image, "row0": int, "flip_rows": bool,
            "flip_cols": bool}``.
        part_masks: (H, W) bool mask of the cracks of each part (same order as ``parts``).

    """

    image: NDArray[np.uint8]
    mask: NDArray[np.bool_]
    parts: list[dict[str, Any]] = field(default_factory=list)
    part_masks: list[NDArray[np.bool_]] = field(default_factory=list)


@dataclass(frozen=True)
class Illumination:
    """Radiometric change of one survey: ``((x / 255) ** gamma) * gain * cast * 255 + noise``.

    Attributes:
        gain: Overall gain.
        gamma: Gamma applied to the normalised blurred image.
        colour_cast: Per-channel (R, G, B) factors.
        noise_sigma: Standard deviation (DN) of the added Gaussian noise.
        blur_sigma: Gaussian blur (px) applied first; 0 for none.

    """

    gain: float
    gamma: float
    colour_cast: tuple[float, float, float]
    noise_sigma: float
    blur_sigma: float


def list_samples(data_dir: Path, source: str = "crackforest", split: str = "test") -> list[CrackSample]:
    """Image / mask pairs of ``crack-seg/<source>/<split>``, sorted by name.

    Raises:
        ConfigError: If the data folder or the split is missing or holds no pair.
        InvalidRasterError: If an image has no mask.

    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ConfigError(
            f"data folder {data_dir} does not exist; pass the real data folder holding crack-seg/ (../shared/data)"
        )
    root = data_dir / "crack-seg" / source / split
    images, masks = root / "images", root / "masks"
    if not images.is_dir() or not masks.is_dir():
        raise ConfigError(
            f"crack split {root} is missing (expected {images} and {masks}); pick a source and split that exist "
            f"under {data_dir / 'crack-seg'}"
        )
    out = []
    for img in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        mask = masks / f"{img.stem}.png"
        if not mask.is_file():
            raise InvalidRasterError(f"image {img} has no mask {mask}; restore the pair or remove the image")
        out.append(CrackSample(img.stem, img, mask, img.relative_to(data_dir).as_posix()))
    if not out:
        raise ConfigError(f"crack split {root} holds no image; expected {images}/NAME.jpg|png with masks/NAME.png")
    return out


def load_sample(sample: CrackSample) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """RGB image and boolean crack mask of a sample.

    Raises:
        InvalidRasterError: If a file cannot be read or the shapes differ.

    """
    bgr = cv2.imread(str(sample.image), cv2.IMREAD_COLOR)
    mask = cv2.imread(str(sample.mask), cv2.IMREAD_GRAYSCALE)
    if bgr is None or mask is None:
        bad = sample.image if bgr is None else sample.mask
        raise InvalidRasterError(f"cannot read {bad}; the file is missing or corrupt, restore it from the source")
    if mask.shape != bgr.shape[:2]:
        raise InvalidRasterError(
            f"mask {sample.mask} is {mask.shape} but image {sample.image} is {bgr.shape[:2]}; they must match"
        )
    return np.ascontiguousarray(bgr[:, :, ::-1]), np.asarray(mask > 127)


def sample_stats(image: NDArray[np.uint8], mask: NDArray[np.bool_]) -> SampleStats:
    """Crack layout and contrast of a sample (see :class:`SampleStats`)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return SampleStats(0.0, 0.0, 0, mask.shape[0], mask.shape[0], False)
    comp = largest_component(mask)
    path = crack_path_order(comp)
    skel_px = max(int(np.count_nonzero(path.offaxis == 0)), 1)
    share = path.pixels.shape[0] / skel_px
    grey = image.astype(np.float32).mean(axis=2)
    local = cv2.medianBlur(np.rint(grey).astype(np.uint8), 31).astype(np.float32)
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    area = np.bincount(labels.ravel(), minlength=n)
    skel = np.bincount(labels[np.asarray(skeletonize(mask), dtype=bool)], minlength=n)
    wide = (area[1:] >= 400) & (area[1:] > BLOB_WIDTH_PX * np.maximum(skel[1:], 1))
    return SampleStats(
        trunk_px=path.length,
        trunk_share=share,
        trunk_area=int(np.count_nonzero(comp)),
        top_clear=int(rows[0]),
        bottom_clear=int(mask.shape[0] - 1 - rows[-1]),
        blob=bool(wide.any()),
        contrast=float(np.median(local[comp] - grey[comp])),
    )


def _flip(arr: NDArray[Any], flip_rows: bool, flip_cols: bool) -> NDArray[Any]:
    """Flip an array along rows and/or columns (contiguous copy)."""
    if flip_rows:
        arr = arr[::-1]
    if flip_cols:
        arr = arr[:, ::-1]
    return np.ascontiguousarray(arr)


def fit_width(
    image: NDArray[np.uint8], mask: NDArray[np.bool_], width: int
) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """``image`` and its ``mask`` centre-cut or mirror-padded (left and right) to ``width`` columns."""
    w = image.shape[1]
    if w > width:
        c0 = (w - width) // 2
        return np.ascontiguousarray(image[:, c0 : c0 + width]), np.ascontiguousarray(mask[:, c0 : c0 + width])
    if w < width:
        left = (width - w) // 2
        right = width - w - left
        padded = cv2.copyMakeBorder(image, 0, 0, left, right, cv2.BORDER_REFLECT_101)
        padded_mask = cv2.copyMakeBorder(mask.astype(np.uint8), 0, 0, left, right, cv2.BORDER_REFLECT_101) > 0
        return np.asarray(padded, np.uint8), padded_mask
    return image, mask


def stack_world(
    pieces: list[tuple[CrackSample, NDArray[np.uint8], NDArray[np.bool_], bool, bool]],
) -> World:
    """Stack images vertically with feathered seams.

    Args:
        pieces: (sample, rgb, mask, flip_rows, flip_cols) from top to bottom; all the same width.

    Raises:
        InvalidRasterError: If the widths differ or a crack lies too close to a seam.

    """
    widths = {rgb.shape[1] for _, rgb, _, _, _ in pieces}
    if len(widths) != 1:
        raise InvalidRasterError(f"images stacked into one world must share their width, got {sorted(widths)}")
    imgs: list[NDArray[np.float32]] = []
    masks: list[NDArray[np.bool_]] = []
    for i, (sample, rgb, mask, fr, fc) in enumerate(pieces):
        img, m = _flip(rgb, fr, fc).astype(np.float32), _flip(mask, fr, fc)
        rows = np.flatnonzero(m.any(axis=1))
        near_top = i > 0 and rows.size and rows[0] < SEAM_CLEAR_PX
        near_bottom = i < len(pieces) - 1 and rows.size and m.shape[0] - 1 - rows[-1] < SEAM_CLEAR_PX
        if near_top or near_bottom:
            raise InvalidRasterError(
                f"{sample.image} has crack pixels within {SEAM_CLEAR_PX} px of a seam; flip it or choose another"
            )
        if imgs:
            ref = imgs[0].reshape(-1, 3).mean(axis=0)
            img = img + 0.5 * (ref - img.reshape(-1, 3).mean(axis=0))
        imgs.append(img)
        masks.append(m)
    height = sum(im.shape[0] for im in imgs) - SEAM_PX * (len(imgs) - 1)
    width = imgs[0].shape[1]
    acc = np.zeros((height, width, 3), np.float32)
    wsum = np.zeros((height, 1, 1), np.float32)
    world_mask = np.zeros((height, width), bool)
    parts: list[dict[str, Any]] = []
    part_masks = []
    row0 = 0
    for i, ((sample, _, _, fr, fc), img, m) in enumerate(zip(pieces, imgs, masks, strict=True)):
        h = img.shape[0]
        weight = np.ones(h, np.float32)
        ramp = (np.arange(SEAM_PX, dtype=np.float32) + 0.5) / SEAM_PX
        if i > 0:
            weight[:SEAM_PX] = ramp
        if i < len(imgs) - 1:
            weight[h - SEAM_PX :] = ramp[::-1]
        acc[row0 : row0 + h] += img * weight[:, None, None]
        wsum[row0 : row0 + h, 0, 0] += weight
        pm = np.zeros((height, width), bool)
        pm[row0 : row0 + h] = m
        world_mask |= pm
        part_masks.append(pm)
        parts.append({"image": sample.rel_image, "row0": row0, "flip_rows": fr, "flip_cols": fc})
        row0 += h - SEAM_PX
    image = np.clip(np.rint(acc / wsum), 0, 255).astype(np.uint8)
    return World(image=image, mask=world_mask, parts=parts, part_masks=part_masks)


def draw_offset(rng: np.random.Generator, max_m: float) -> tuple[float, float]:
    """A georeferencing error uniform in the disc of radius ``max_m`` (metres, 0.1 mm steps)."""
    radius = max_m * math.sqrt(float(rng.random()))
    angle = 2.0 * math.pi * float(rng.random())
    ox = math.trunc(radius * math.cos(angle) * 1e4) / 1e4  # truncation keeps |offset| <= max_m
    oy = math.trunc(radius * math.sin(angle) * 1e4) / 1e4
    return ox, oy


def draw_illumination(rng: np.random.Generator) -> Illumination:
    """A survey's illumination: gain 0.75-1.25, gamma 0.8-1.2, cast +-5 %, noise 2-3 DN, blur 0-0.6 px."""
    cast = rng.uniform(0.95, 1.05, 3)
    blur = float(rng.uniform(0.0, 0.6))
    return Illumination(
        gain=round(float(rng.uniform(0.75, 1.25)), 4),
        gamma=round(float(rng.uniform(0.8, 1.2)), 4),
        colour_cast=(round(float(cast[0]), 4), round(float(cast[1]), 4), round(float(cast[2]), 4)),
        noise_sigma=round(float(rng.uniform(2.0, 3.0)), 3),
        blur_sigma=round(blur, 3) if blur >= 0.2 else 0.0,
    )


def apply_illumination(image: NDArray[np.uint8], ill: Illumination, rng: np.random.Generator) -> NDArray[np.uint8]:
    """Apply an :class:`Illumination` to an RGB uint8 image."""
    x: NDArray[np.float32] = image.astype(np.float32) / np.float32(255.0)
    if ill.blur_sigma > 0:
        x = np.asarray(cv2.GaussianBlur(x, (0, 0), ill.blur_sigma), dtype=np.float32)
    x = np.asarray(cv2.pow(np.clip(x, 0.0, 1.0), ill.gamma), dtype=np.float32)
    x = x * (np.float32(255.0 * ill.gain) * np.asarray(ill.colour_cast, np.float32))[None, None, :]
    x += rng.standard_normal(x.shape, dtype=np.float32) * np.float32(ill.noise_sigma)
    return np.asarray(np.clip(np.rint(x), 0, 255), dtype=np.uint8)


def offset_between(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """``a - b`` rounded to 0.1 mm: the registration from an offset ``b`` survey to an offset ``a`` one."""
    return (round(a[0] - b[0], 4) + 0.0, round(a[1] - b[1], 4) + 0.0)


def survey_transform(origin: tuple[float, float], gsd: float, offset: tuple[float, float]) -> tuple[Affine, int, int]:
    """Survey grid and the whole-pixel part of its offset.

    Returns:
        (transform, shift_cols, shift_rows_up): the survey geotransform (origin moved by the
        whole pixels of ``offset``) and those whole pixels along x and y.

    """
    ix, iy = round(offset[0] / gsd), round(offset[1] / gsd)
    return Affine(gsd, 0.0, origin[0] + ix * gsd, 0.0, -gsd, origin[1] + iy * gsd), ix, iy


def render_survey(
    image: NDArray[np.uint8],
    truth: NDArray[np.bool_],
    origin: tuple[float, float],
    gsd: float,
    offset: tuple[float, float],
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], Affine]:
    """World content seen with a georeferencing error (before the illumination change).

    Args:
        image: (H, W, 3) world image.
        truth: (H, W) world crack mask shown by this survey.
        origin: Map (x, y) of the world's top-left corner.
        gsd: Pixel size (m).
        offset: Georeferencing error (m): a feature at true P appears at P + offset.

    Returns:
        (rgb, truth_mask, transform): survey image, its 0/1 truth on the same grid, geotransform.

    """
    transform, ix, iy = survey_transform(origin, gsd, offset)
    fx, fy = offset[0] / gsd - ix, offset[1] / gsd - iy
    m = np.array([[1.0, 0.0, fx], [0.0, 1.0, -fy]], np.float64)  # col += fx, row -= fy
    size = (image.shape[1], image.shape[0])
    rgb = cv2.warpAffine(image, m, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    soft = cv2.warpAffine(truth.astype(np.float32), m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return np.asarray(rgb, np.uint8), (soft >= 0.5).astype(np.uint8), transform


def _write(path: Path, data: NDArray[np.uint8], crs: str, transform: Affine, **extra: Any) -> None:
    """Write a (bands, H, W) uint8 array as a tiled deflate GeoTIFF."""
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": "uint8",
        "crs": crs,
        "transform": transform,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        **extra,
    }
    try:
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
    except (RasterioIOError, OSError) as exc:
        raise OutputError(f"cannot write {path}: {exc}; check that the output folder is writable") from exc


def write_rgb_tif(path: Path, rgb: NDArray[np.uint8], crs: str, transform: Affine, nodata: int | None = None) -> None:
    """Write an (H, W, 3) RGB image as a tiled deflate GeoTIFF (``nodata``: its no-data value, if any)."""
    extra: dict[str, Any] = {} if nodata is None else {"nodata": nodata}
    _write(path, np.transpose(rgb, (2, 0, 1)), crs, transform, photometric="RGB", **extra)


def write_mask_tif(path: Path, mask: NDArray[np.uint8], crs: str, transform: Affine) -> None:
    """Write an (H, W) 0/1 mask as a tiled deflate GeoTIFF."""
    _write(path, mask[None].astype(np.uint8), crs, transform)


def write_survey(
    folder: Path,
    index: int,
    rgb: NDArray[np.uint8],
    truth_mask: NDArray[np.uint8],
    crs: str,
    transform: Affine,
    nodata: int | None = None,
) -> tuple[str, str]:
    """Write the ``index``-th (0-based) survey of a scenario and its truth mask; their file names."""
    file, truth_file = f"survey_{index + 1:02d}.tif", f"survey_{index + 1:02d}_truth.tif"
    write_rgb_tif(folder / file, rgb, crs, transform, nodata=nodata)
    write_mask_tif(folder / truth_file, truth_mask, crs, transform)
    return file, truth_file
