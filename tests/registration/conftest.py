"""Builders of survey pairs: a reference raster and a "next survey" of the same ground."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import rasterio
from affine import Affine


def textured_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Seeded multi-scale soil-like texture with pebbles, (3, H, W) uint8."""
    rng = np.random.default_rng(seed)
    field = np.zeros((height, width), np.float32)
    for cell, amp in ((32, 18.0), (8, 12.0), (3, 8.0)):
        noise = rng.normal(0, 1, (height // cell + 3, width // cell + 3)).astype(np.float32)
        field += (
            amp
            * cv2.resize(noise, (width + 3 * cell, height + 3 * cell), interpolation=cv2.INTER_CUBIC)[
                cell : cell + height, cell : cell + width
            ]
        )
    for _ in range(height * width // 400):
        x, y = rng.integers(0, width), rng.integers(0, height)
        cv2.circle(field, (int(x), int(y)), int(rng.integers(1, 4)), float(rng.uniform(-40, 40)), -1)
    base = np.array([150, 125, 95], np.float32)[:, None, None]
    return np.clip(base + field[None] * np.array([1.0, 0.9, 0.8], np.float32)[:, None, None], 1, 255).astype(np.uint8)


def write_raster(path: Path, data: np.ndarray, transform: Affine, crs: str, **profile: Any) -> Path:
    """Write (bands, H, W) uint8 as a GeoTIFF."""
    kwargs: dict[str, Any] = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": transform,
    }
    kwargs.update(profile)
    with rasterio.open(path, "w", **kwargs) as dst:
        dst.write(data)
    return path


def resurvey(
    image: np.ndarray,
    transform: Affine,
    *,
    origin_px: tuple[float, float],
    size: tuple[int, int],
    scale: float = 1.0,
    gnss_error_m: tuple[float, float] = (0.0, 0.0),
    gain: float = 1.0,
    gamma: float = 1.0,
    noise: float = 0.0,
    changes: int = 0,
    nodata_corner: bool = False,
    seed: int = 0,
) -> tuple[np.ndarray, Affine]:
    """The same ground as ``image`` seen by a later survey.

    The new raster starts at (fractional) pixel ``origin_px`` of ``image`` and has pixels ``scale``
    times larger; its exposure differs (``gain``, ``gamma``, Gaussian ``noise``) and its
    georeferencing is off by ``gnss_error_m``: a ground feature at reference map (x, y) is at
    (x + ex, y + ey) in the new survey. ``changes`` blobs of the ground are replaced by other
    ground (vegetation, slumps) and as many dark cracks appear; ``nodata_corner`` blanks the
    top-left triangle (value 0, outside the flight).
    """
    col0, row0 = origin_px
    height, width = size
    matrix = np.array([[scale, 0, col0 + 0.5 * scale - 0.5], [0, scale, row0 + 0.5 * scale - 0.5]], np.float64)
    bands = []
    for band in image.astype(np.float32):
        if scale > 1.0:
            band = cv2.GaussianBlur(band, (0, 0), 0.4 * scale)
        bands.append(cv2.warpAffine(band, matrix, (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP))
    out = np.stack(bands) / 255.0
    out = 255.0 * gain * np.clip(out, 0, 1) ** gamma
    rng = np.random.default_rng(seed)
    out += rng.normal(0, noise, out.shape)
    for _ in range(changes):
        y, x = int(rng.integers(0, height)), int(rng.integers(0, width))
        blob = np.zeros((height, width), np.uint8)
        axes = (
            int(rng.integers(width // 30 + 2, width // 12 + 3)),
            int(rng.integers(height // 30 + 2, height // 12 + 3)),
        )
        cv2.ellipse(blob, (x, y), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        other = np.roll(
            out, (int(rng.integers(height // 4, height // 2)), int(rng.integers(width // 4, width // 2))), (1, 2)
        )
        out[:, blob > 0] = other[:, blob > 0]
        points = np.cumsum(rng.normal(0, 6, (12, 2)), axis=0) + rng.uniform(0, [width, height])
        crack = np.zeros((height, width), np.uint8)
        cv2.polylines(crack, [points.astype(np.int32)], False, 1, int(rng.integers(1, 4)))
        out[:, crack > 0] *= 0.3
    if nodata_corner:
        rows, cols = np.mgrid[0:height, 0:width]
        out[:, cols / width + rows / height < 0.5] = 0
    ex, ey = gnss_error_m
    new = transform * Affine.translation(col0, row0) * Affine.scale(scale)
    new = Affine.translation(ex, ey) * new
    blank = (out == 0).all(axis=0)
    out = np.clip(out, 1, 255).astype(np.uint8)
    out[:, blank] = 0
    return out, new


@pytest.fixture
def survey_pair(tmp_path: Path) -> Callable[..., tuple[Path, Path]]:
    """Write a synthetic reference and its resurvey (see :func:`resurvey`) into ``tmp_path``."""

    def factory(
        *, size: int = 400, gsd: float = 0.01, crs: str = "EPSG:32633", seed: int = 0, margin: int = 40, **kwargs: Any
    ) -> tuple[Path, Path]:
        image = textured_rgb(size, size, seed)
        transform = Affine(gsd, 0, 500000.0, 0, -gsd, 5200000.0)
        ref = write_raster(tmp_path / "reference.tif", image, transform, "EPSG:32633")
        scale = kwargs.get("scale", 1.0)
        inner = int((size - 2 * margin) / scale)
        kwargs.setdefault("origin_px", (margin + 0.37, margin - 0.21))
        data, new_transform = resurvey(image, transform, size=(inner, inner), seed=seed + 1, **kwargs)
        mov = write_raster(tmp_path / "moving.tif", data, new_transform, crs)
        return ref, mov

    return factory
