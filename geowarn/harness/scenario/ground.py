"""Stable-ground scenarios: real crack-free natural ground surveyed again and again.

A stable-ground site is one real crack-free image, either a crop of a held-out natural drone
frame (``natural/no-crack``, test frames only: bare soil, tracks, ruts, sparse grass, 2 cm) or
the scrubland orthomosaic ``geotiff/australia.tif`` (1.8 cm, hard shrub and tree shadows). Each
survey sees it as an ordinary repeat flight would: a georeferencing error of up to
``MAX_OFFSET_M``, a light change (:func:`~geowarn.harness.scenario.compose.draw_illumination`),
tree shadows that move with the sun between surveys (``SHADOW_SHIFT_M`` at most) and JPEG
recompression at quality ``JPEG_QUALITY``. Nothing on the ground changes, so every survey must
stay green and no alert may be raised.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import rasterio
from numpy.typing import NDArray
from rasterio.errors import RasterioIOError

from geowarn.errors import ConfigError, InvalidRasterError
from geowarn.harness.natural import NATURAL_FOLDER, NATURAL_GSD_M, cast_shadows, natural_files
from geowarn.harness.scenario.compose import (
    apply_illumination,
    draw_illumination,
    draw_offset,
    offset_between,
    render_survey,
    write_survey,
)
from geowarn.harness.scenario.schema import IlluminationRecord, SurveyRecord
from geowarn.io.images import read_rgb

__all__ = ["GROUND_KINDS", "JPEG_QUALITY", "SHADOW_SHIFT_M", "Ground", "grounds", "render_ground_surveys"]

#: Scenario kinds built from crack-free ground, and the ground each draws from.
GROUND_KINDS = {"stable-ground": "natural", "stable-scrub": "scrub"}
SCRUB_FILE = "geotiff/australia.tif"
#: JPEG quality range of the recompression of each survey.
JPEG_QUALITY = (70, 90)
#: Largest move of the tree shadows between the first and any later survey (m).
SHADOW_SHIFT_M = 0.3
#: Strength of the cast shadows: ground in full shade keeps this share of its light.
SHADOW_LEVEL = (0.45, 0.7)


@dataclass(frozen=True)
class Ground:
    """A crack-free image to survey: pixels, which of them are valid, pixel size and name."""

    name: str
    image: NDArray[np.uint8]
    valid: NDArray[np.bool_]
    gsd_m: float


def _natural(data: Path) -> list[Ground]:
    """Crops of the held-out natural test frames."""
    out = []
    for path in natural_files(data, "test"):
        image = read_rgb(path)
        out.append(Ground(f"{NATURAL_FOLDER}/{path.name}", image, np.ones(image.shape[:2], bool), NATURAL_GSD_M))
    return out


def _scrub(data: Path) -> list[Ground]:
    """The scrubland orthomosaic, its nodata border marked invalid."""
    path = data / SCRUB_FILE
    if not path.is_file():
        raise ConfigError(f"{path} not found; point --data at the shared data folder holding {SCRUB_FILE}")
    try:
        with rasterio.open(path) as src:
            rgb = np.transpose(src.read([1, 2, 3]), (1, 2, 0)).astype(np.uint8)
            valid = src.dataset_mask() > 0
            gsd = float(abs(src.transform.a))
    except RasterioIOError as exc:
        raise InvalidRasterError(f"{path}: cannot read it ({exc}); restore the shared data copy") from exc
    return [Ground(SCRUB_FILE, np.ascontiguousarray(rgb), valid, gsd)]


def grounds(data: Path, kind: str) -> list[Ground]:
    """The crack-free grounds a stable-ground ``kind`` draws from (see ``GROUND_KINDS``)."""
    if kind not in GROUND_KINDS:
        raise ConfigError(f"{kind!r} is not a stable-ground kind; choose from {list(GROUND_KINDS)}")
    return _natural(Path(data)) if GROUND_KINDS[kind] == "natural" else _scrub(Path(data))


def _shadow_factor(shape: tuple[int, int], rng: np.random.Generator) -> NDArray[np.float32]:
    """Light factor (0..1) of trunk and branch shadows on a site, drawn once per site."""
    white = np.full((*shape, 3), 255, np.uint8)
    return cast_shadows(white, rng)[..., 0].astype(np.float32) / np.float32(255.0)


def _move(factor: NDArray[np.float32], shift_px: tuple[float, float]) -> NDArray[np.float32]:
    """The shadow factor moved by ``shift_px`` (columns, rows); uncovered edges are sunlit."""
    m = np.array([[1.0, 0.0, shift_px[0]], [0.0, 1.0, shift_px[1]]], np.float64)
    size = (factor.shape[1], factor.shape[0])
    moved = cv2.warpAffine(factor, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=1.0)
    return np.asarray(moved, np.float32)


def _jpeg(image: NDArray[np.uint8], quality: int) -> NDArray[np.uint8]:
    """``image`` after a JPEG round trip at ``quality``."""
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 RGB
        raise RuntimeError("JPEG encoding failed")
    decoded = np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), np.uint8)
    return np.ascontiguousarray(decoded[..., ::-1])


def render_ground_surveys(
    ground: Ground,
    rng: np.random.Generator,
    folder: Path,
    *,
    crs: str,
    origin_m: tuple[float, float],
    start: dt.date,
    n_surveys: int,
    interval_days: int,
    max_offset_m: float,
) -> list[SurveyRecord]:
    """Write the surveys of a stable site on ``ground`` into ``folder``; their records."""
    h, w = ground.valid.shape
    shade = _shadow_factor((h, w), rng)
    sun = rng.uniform(0, 2 * math.pi)
    no_cracks = np.zeros((h, w), bool)
    valid_rgb = np.repeat(ground.valid[..., None], 3, axis=2).astype(np.uint8) * np.uint8(255)
    nodata = None if ground.valid.all() else 0
    records: list[SurveyRecord] = []
    offsets: list[tuple[float, float]] = []
    for k in range(n_surveys):
        offset = draw_offset(rng, max_offset_m)
        ill = draw_illumination(rng)
        quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
        reach = SHADOW_SHIFT_M / ground.gsd_m * k / max(n_surveys - 1, 1)
        moved = _move(shade, (reach * math.cos(sun), reach * math.sin(sun)))
        lit = np.clip(ground.image.astype(np.float32) * moved[..., None], 0, 255).astype(np.uint8)
        rgb, _, transform = render_survey(lit, no_cracks, origin_m, ground.gsd_m, offset)
        rgb = _jpeg(apply_illumination(rgb, ill, rng), quality)
        if nodata is not None:
            seen = render_survey(valid_rgb, no_cracks, origin_m, ground.gsd_m, offset)[0][..., 0] >= 128
            rgb[seen & (rgb.max(axis=2) == 0)] = 1
            rgb[~seen] = 0
        file, truth_file = write_survey(folder, k, rgb, np.zeros((h, w), np.uint8), crs, transform, nodata)
        records.append(
            SurveyRecord(
                file=file,
                truth_mask=truth_file,
                date=start + dt.timedelta(days=k * interval_days),
                gnss_offset_m=offset,
                expected_registration_to_previous_m=offset_between(offsets[-1], offset) if k else None,
                expected_registration_to_reference_m=offset_between(offsets[0], offset) if k else None,
                illumination=IlluminationRecord.model_validate(asdict(ill)),
                registrable=True,
                source_images=[ground.name],
                cracks=[],
            )
        )
        offsets.append(offset)
    return records
