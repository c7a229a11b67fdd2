"""Natural ground for training and evaluation: the frame split, synthetic shadows, crack transplants.

``natural/no-crack`` holds two crops of each of 60 overlapping drone frames of one site. Frames
are split in flight order into contiguous blocks (train, then validation, then test), so both
crops of a frame, and most of the ground a frame shares with its neighbours, stay on one side.

Shadows of branches, trunks and canopies are the hardest natural negatives: dark, elongated or
patchy, with sharp or soft edges. :func:`shadowed` casts either kind on a crop. They are drawn
wider than cracks at drone scale (a branch shadow is several centimetres across), so that they do
not teach the segmenter that every thin dark line is ground; shrub shade is broad and ragged,
mottled by sunflecks, as under scrub in sunshine.

:func:`transplant` carries a real crack onto natural ground: the crack pixels' darkness relative
to their own surroundings (:func:`crack_shading`) multiplies the natural crop, which keeps the
crack's width and profile and leaves the pavement texture behind. Transplanted cracks are positives on natural ground.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
import rasterio
from numpy.typing import NDArray
from rasterio.transform import from_origin

from geowarn.errors import ConfigError
from geowarn.io.images import image_files, read_rgb
from geowarn.io.outputs import MASK_NAME

if TYPE_CHECKING:
    from geowarn.inference.cascade import Cascade
    from geowarn.pipeline.detect import DetectResult
    from geowarn.pipeline.detect_config import DetectConfig

NaturalSplit = Literal["train", "val", "test"]
NATURAL_FOLDER = "natural/no-crack"
#: Shares of the frames (in flight order) for train and validation; the rest is the test split.
NATURAL_SHARES = (0.6, 0.2)
#: Ground sample distance of the natural frames, metres per pixel (data README: about 1.5-2 cm).
NATURAL_GSD_M = 0.02
#: The natural frames' site is in Texas: UTM zone 14 N.
NATURAL_CRS = "EPSG:32614"

Image = NDArray[np.uint8]


def frame_of(path: Path) -> str:
    """The drone frame a crop was cut from (``IMG_9354_0.jpg`` -> ``IMG_9354``)."""
    return path.stem.rsplit("_", 1)[0]


def natural_files(data: Path, split: NaturalSplit) -> list[Path]:
    """Crops of ``split``: frames sorted by name and cut into contiguous blocks."""
    folder = data / NATURAL_FOLDER
    if not folder.is_dir():
        raise ConfigError(f"{folder} not found; point --data at the shared data folder holding natural/no-crack")
    files = image_files(folder)
    frames = sorted({frame_of(p) for p in files})
    n_train = round(len(frames) * NATURAL_SHARES[0])
    n_val = round(len(frames) * NATURAL_SHARES[1])
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, len(frames))}
    lo, hi = bounds[split]
    keep = set(frames[lo:hi])
    return [p for p in files if frame_of(p) in keep]


def write_geotiff(image: Image, path: Path, gsd_m: float = NATURAL_GSD_M) -> Path:
    """``image`` (H x W x 3) as a north-up RGB GeoTIFF with ``gsd_m`` pixels, as the natural frames."""
    from geowarn.harness.scenario.compose import write_rgb_tif  # the scenario package imports this module

    write_rgb_tif(path, image, NATURAL_CRS, from_origin(500_000.0, 3_300_000.0, gsd_m, gsd_m))
    return path


def detect_scene(image: Image, folder: Path, config: DetectConfig, cascade: Cascade) -> DetectResult:
    """``detect`` on ``image`` read as natural ground, one scene at a time.

    ``folder`` is emptied; the scene is written as ``folder/scene.tif``, the outputs go to ``folder/out``.
    """
    from geowarn.pipeline.detect import detect  # only where a scene is run: this module stays light to import

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    raster = write_geotiff(image, folder / "scene.tif")
    return detect(raster, folder / "out", config, cascade=cascade, progress=False, quiet=True)


def detected_mask(image: Image, folder: Path, config: DetectConfig, cascade: Cascade) -> NDArray[np.bool_]:
    """The cracks :func:`detect_scene` reports on ``image``: its ``crack_mask.tif`` (after every filter)."""
    result = detect_scene(image, folder, config, cascade)
    with rasterio.open(result.outputs[MASK_NAME]) as src:
        return np.asarray(src.read(1) == 1)


def natural_images(data: Path, split: NaturalSplit) -> list[Image]:
    """The decoded crops of ``split``."""
    return [read_rgb(p) for p in natural_files(data, split)]


def _darken(image: Image, shade: NDArray[np.float32], level: float) -> Image:
    """Multiply ``image`` by ``1 - (1 - level) * shade`` (shade 0..1)."""
    factor = 1.0 - (1.0 - level) * shade
    return np.clip(image.astype(np.float32) * factor[..., None], 0, 255).astype(np.uint8)


def _blur(values: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """Gaussian blur of a single- or multi-band float image."""
    return np.asarray(cv2.GaussianBlur(values, (0, 0), sigma), dtype=np.float32)


def cast_shadows(image: Image, rng: np.random.Generator) -> Image:
    """Hard shadows of a trunk and its branches: straight or bent dark bands 4-60 px wide."""
    h, w = image.shape[:2]
    shade = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 3))):
        start = rng.uniform(0, [w, h])
        angle = rng.uniform(0, 2 * np.pi)
        width = int(rng.integers(8, 61))
        points = [start]
        for _ in range(int(rng.integers(2, 5))):
            angle += rng.normal(0, 0.35)
            step = rng.uniform(0.2, 0.5) * max(h, w)
            points.append(points[-1] + step * np.array([np.cos(angle), np.sin(angle)]))
        trunk = np.array(points, np.int32)
        cv2.polylines(shade, [trunk], False, 1.0, thickness=width, lineType=cv2.LINE_AA)
        for base in trunk[1:]:
            for _ in range(int(rng.integers(1, 4))):
                a = angle + rng.choice([-1, 1]) * rng.uniform(0.4, 1.2)
                length = rng.uniform(0.1, 0.35) * max(h, w)
                tip = base + length * np.array([np.cos(a), np.sin(a)])
                thickness = int(rng.integers(4, 11))
                cv2.line(shade, tuple(int(v) for v in base), tuple(int(v) for v in tip), 1.0, thickness, cv2.LINE_AA)
    shade = _blur(np.clip(shade, 0, 1), rng.uniform(1.0, 3.0))
    return _darken(image, shade, rng.uniform(0.3, 0.65))


def _noise(h: int, w: int, cell: float, rng: np.random.Generator) -> NDArray[np.float32]:
    """Smooth random field in 0..1 with features about ``cell`` px across."""
    small = rng.random((max(2, int(h / cell)) + 1, max(2, int(w / cell)) + 1)).astype(np.float32)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), dtype=np.float32).clip(0, 1)


def canopy_shadows(image: Image, rng: np.random.Generator) -> Image:
    """Shade of shrubs and canopies: broad patches with ragged edges, mottled by sunflecks."""
    h, w = image.shape[:2]
    blobs = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(2, 7))):
        centre = tuple(int(v) for v in rng.uniform(0, [w, h]))
        axes = tuple(int(v) for v in rng.uniform(0.1, 0.45, 2) * max(h, w))
        cv2.ellipse(blobs, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    ragged = _blur(blobs, max(h, w) / 24) + 0.5 * (_noise(h, w, rng.uniform(8, 24), rng) - 0.5)
    shade = (ragged > 0.5).astype(np.float32)
    flecks = _noise(h, w, rng.uniform(3, 10), rng) > rng.uniform(0.65, 0.9)
    shade[flecks] *= rng.uniform(0.0, 0.6)
    shade = _blur(shade, rng.uniform(0.7, 4.0))
    return _darken(image, shade, rng.uniform(0.3, 0.75))


def shadowed(image: Image, rng: np.random.Generator) -> Image:
    """``image`` under cast (trunk/branch) or canopy shadows, half each."""
    return cast_shadows(image, rng) if rng.random() < 0.5 else canopy_shadows(image, rng)


def crack_shading(
    image: Image, mask: NDArray[np.bool_] | NDArray[np.uint8]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Soft alpha (H x W) and RGB shading factor (H x W x 3) that carry a crack photo's crack.

    The factor is the photo over the average of its surface around the crack (the crack left out),
    clipped to 0.05..1; the alpha covers the crack grown by one pixel, feathered.
    """
    pixels = image.astype(np.float32)
    grown = cv2.dilate(np.asarray(mask, np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    alpha = _blur(grown, 0.8)
    surface = 1.0 - grown
    level = _blur(pixels * surface[..., None], 6.0) / np.maximum(_blur(surface, 6.0), 1e-3)[..., None]
    return alpha, np.clip(pixels / np.maximum(level, 1.0), 0.05, 1.0)


def transplant(
    ground: Image, crack_image: Image, crack_mask: NDArray[np.uint8], rng: np.random.Generator
) -> tuple[Image, NDArray[np.uint8]]:
    """``ground`` with the crack of a (same-size) crack pair shaded into it, and the crack's mask.

    :func:`crack_shading` carries the crack; ``rng`` jitters its depth (0.8-1.1 of the photo's).
    """
    if ground.shape[:2] != crack_mask.shape:
        raise ValueError(f"ground {ground.shape[:2]} and crack mask {crack_mask.shape} differ in size")
    alpha, shade = crack_shading(crack_image, crack_mask > 0)
    shade = np.clip(1.0 - rng.uniform(0.8, 1.1) * (1.0 - shade), 0.05, 1.0)
    factor = 1.0 - alpha[..., None] + alpha[..., None] * shade
    out = np.clip(ground.astype(np.float32) * factor, 0, 255).astype(np.uint8)
    return out, (crack_mask > 0).astype(np.uint8)
