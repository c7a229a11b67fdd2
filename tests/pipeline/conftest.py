"""Tiny seeded multi-survey scenes: textured ground with dark crack polylines, GNSS offsets, illumination."""

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
from rasterio.transform import from_origin

from tests.conftest import soil_rgb, write_geotiff

GSD = 0.01
ORIGIN = (500000.0, 5200000.0)
SIZE = 512


def textured(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = soil_rgb(SIZE, SIZE, seed).astype(np.float32)
    fine = cv2.GaussianBlur(rng.normal(0, 14, (SIZE, SIZE)).astype(np.float32), (0, 0), 1.2)
    return np.clip(base + fine[None], 0, 255)


def write_scene(
    path: Path,
    lines: Sequence[Sequence[tuple[float, float]]],
    *,
    offset: tuple[float, float] = (0.0, 0.0),
    gain: float = 1.0,
    seed: int = 3,
    faint: Sequence[Sequence[tuple[float, float]]] = (),
) -> Path:
    """Ground texture with dark 6-px cracks along ``lines`` (pixel coords), georeferenced with a GNSS offset.

    ``faint`` lines are drawn in grey 58: the toy segmenter gives them crack probability 0.40,
    under its 0.5 threshold, so they are visible in the imagery but not delineated.
    """
    img = np.ascontiguousarray(textured(seed).transpose(1, 2, 0))
    for group, colour in ((faint, (58, 58, 58)), (lines, (25, 20, 18))):  # dark lines over faint ones
        for line in group:
            pts = np.round(np.asarray(line, np.float64) * 16).astype(np.int32)
            cv2.polylines(img, [pts], False, colour, 6, cv2.LINE_AA, shift=4)
    data = np.clip(img * gain, 0, 255).astype(np.uint8).transpose(2, 0, 1)
    transform = from_origin(ORIGIN[0] + offset[0], ORIGIN[1] + offset[1], GSD, GSD)
    return write_geotiff(path, np.ascontiguousarray(data), transform=transform)


@pytest.fixture
def scene(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``scene(name, lines, offset=..., gain=..., seed=...)`` writes into tmp_path."""

    def factory(name: str, lines: Sequence[Sequence[tuple[float, float]]], **kwargs: object) -> Path:
        return write_scene(tmp_path / name, lines, **kwargs)  # type: ignore[arg-type]

    return factory
