"""False alarms and crack recall on natural ground, for the model card and ``geowarn eval defaults``.

- :func:`natural_false_alarms`: ``detect`` on each test frame of ``natural/no-crack`` (written as a
  GeoTIFF at the frames' 2 cm GSD), on both paths: the gated detect path and the ungated
  monitoring path. Every flagged pixel is a false alarm; reported as the flagged share of all
  pixels (pixels of reported cracks, i.e. after the shape filters; the share above the probability
  threshold is reported beside it) and as metres of crack centreline per hectare.
- :func:`transplant_scores`: held-out real cracks (each source's evaluation split) transplanted
  onto natural test frames, at full and at half width; F1 and recall within 2 px. This is how
  well cracks are found on natural ground, and how well thin ones are.
- :func:`rock_fracture_pairs`: the natural rock-fracture photos, an extra held-out source.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from geowarn.harness.natural import (
    NATURAL_FOLDER,
    NATURAL_GSD_M,
    detected_mask,
    natural_files,
    natural_images,
    write_geotiff,
)
from geowarn.inference.cascade import Cascade
from geowarn.io.images import read_mask, read_rgb
from geowarn.metrics.tolerance import ToleranceCounts, tolerance_counts
from geowarn.pipeline.detect import detect
from geowarn.pipeline.detect_config import MONITOR_DETECT_DEFAULTS, DetectConfig
from geowarn.training.datasets import discover_pairs, folder_pairs, load_pairs
from geowarn.training.defaults_data import natural_transplants

ROCK_FRACTURE_FOLDER = "natural/rock-fracture"
PATHS = {"detect": {}, "monitor": MONITOR_DETECT_DEFAULTS}


def path_configs(device: str = "cpu") -> dict[str, DetectConfig]:
    """The detect path (gated) and the monitoring path (every tile segmented)."""
    return {name: DetectConfig(device=device, **overrides) for name, overrides in PATHS.items()}


def natural_false_alarms(data: Path, limit: int | None = None, device: str = "cpu") -> dict[str, Any]:
    """Flagged share and false crack length per hectare on the natural test frames, per path."""
    files = natural_files(data, "test")[: limit or None]
    out: dict[str, Any] = {"folder": str(data / NATURAL_FOLDER), "split": "test", "images": len(files)}
    totals = {
        name: {"crack_pixels": 0, "thresholded_pixels": 0, "valid_pixels": 0, "length_m": 0.0, "cracks": 0}
        for name in PATHS
    }
    configs = path_configs(device)
    with tempfile.TemporaryDirectory() as tmp:
        for i, file in enumerate(files):
            raster = write_geotiff(read_rgb(file), Path(tmp) / f"frame-{i}.tif")
            for name, config in configs.items():
                result = detect(raster, Path(tmp) / f"{name}-{i}", config, progress=False, quiet=True)
                t = totals[name]
                t["crack_pixels"] += result.counts["crack_pixels"]
                t["thresholded_pixels"] += result.counts["thresholded_pixels"]
                t["valid_pixels"] += result.counts["valid_pixels"]
                t["length_m"] += result.total_length_m
                t["cracks"] += result.n_cracks
    for name, t in totals.items():
        hectares = t["valid_pixels"] * NATURAL_GSD_M**2 / 1e4
        out[name] = {
            **t,
            "area_ha": hectares,
            "flagged_fraction": t["crack_pixels"] / t["valid_pixels"] if t["valid_pixels"] else None,
            "thresholded_fraction": t["thresholded_pixels"] / t["valid_pixels"] if t["valid_pixels"] else None,
            "length_m_per_ha": t["length_m"] / hectares if hectares else None,
        }
    return out


def _scale_pair(image: NDArray[np.uint8], mask: NDArray[np.uint8], scale: float) -> tuple[Any, Any]:
    if scale == 1.0:
        return image, mask
    size = (max(8, round(image.shape[1] * scale)), max(8, round(image.shape[0] * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
    return small, small_mask.astype(np.uint8)


def transplant_scores(
    data: Path,
    cascade: Cascade,
    splits: dict[str, str],
    per_source: int = 20,
    scales: tuple[float, ...] = (1.0, 0.5),
    side: int = 128,
    seed: int = 0,
) -> dict[str, Any]:
    """F1 / recall within 2 px of held-out cracks transplanted onto natural test frames."""
    grounds = natural_images(data, "test")
    threshold = cascade.segmenter.threshold
    gate_threshold = cascade.classifier.threshold if cascade.classifier else 0.0
    report: dict[str, Any] = {"scene_px": side, "per_source": per_source, "natural_split": "test"}
    config = DetectConfig(device=str(cascade.device))  # the whole detect, as on a survey
    with tempfile.TemporaryDirectory() as tmp:
        for scale in scales:
            rng = np.random.default_rng(seed)
            counts = {"segmenter": ToleranceCounts(), "cascade": ToleranceCounts(), "detect": ToleranceCounts()}
            for source, split in splits.items():
                held_out = load_pairs(discover_pairs(data / "crack-seg", split, [source]))
                pairs = [_scale_pair(image, mask, scale) for image, mask in held_out]
                for image, truth in natural_transplants(grounds, pairs, per_source, side, 0.0, rng, min_crack_px=20):
                    tile = image[None]
                    seg = cascade.segment(tile, 1)[0] >= threshold
                    gate = float(cascade.classify(tile, 1)[0]) if cascade.classifier else 1.0
                    cas = seg if gate >= gate_threshold else np.zeros_like(seg)
                    counts["segmenter"] += tolerance_counts(seg, truth.astype(bool), 2.0)
                    counts["cascade"] += tolerance_counts(cas, truth.astype(bool), 2.0)
                    found = detected_mask(image, Path(tmp) / "scene", config, cascade)
                    counts["detect"] += tolerance_counts(found, truth.astype(bool), 2.0)
            report[f"scale_{scale:g}"] = {
                k: {"f1_2px": c.f1, "precision_2px": c.precision, "recall_2px": c.recall} for k, c in counts.items()
            }
    return report


def rock_fracture_pairs(data: Path) -> list[tuple[NDArray[np.uint8], NDArray[np.uint8]]]:
    """The natural rock-fracture photos with their masks (none is used in training)."""
    return [(read_rgb(image), read_mask(mask)) for image, mask in folder_pairs(data / ROCK_FRACTURE_FOLDER)]
