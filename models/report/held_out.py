"""Held-out crack photos run through the whole ``detect`` pipeline, scored within 2 px of the truth.

Shared by the report scripts beside it: each draws ``per_source`` seeded images of each source's
held-out split (the splits of ``geowarn eval defaults``), writes each as a GeoTIFF at 2 cm and
scores the crack mask ``detect`` reports. Crack photos are not 2 cm imagery: the shape filters in
metres read them as if they were, so the absolute figures mean little; differences between the
variants a script compares are what it measures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from geowarn.evaluation.defaults import evaluation_splits, held_out_pairs
from geowarn.harness.natural import detected_mask
from geowarn.inference.cascade import Cascade
from geowarn.metrics.tolerance import ToleranceCounts, tolerance_counts
from geowarn.pipeline.detect_config import DetectConfig

Pair = tuple[NDArray[np.uint8], NDArray[np.uint8]]


def sampled_sources(data: Path, per_source: int, seed: int) -> Iterator[tuple[str, list[Pair]]]:
    """(source, its drawn (image, truth) pairs) for every held-out crack set."""
    for source, split in evaluation_splits(data / "crack-seg").items():
        pairs = held_out_pairs(data, source, split, None)
        picked = np.random.default_rng(seed).choice(len(pairs), size=min(per_source, len(pairs)), replace=False)
        yield source, [pairs[j] for j in sorted(picked.tolist())]


def detected_counts(
    image: NDArray[np.uint8], truth: NDArray[np.uint8], folder: Path, config: DetectConfig, cascade: Cascade
) -> ToleranceCounts:
    """Counts within 2 px of ``truth`` of the crack mask ``detect`` reports on ``image`` read as 2 cm."""
    return tolerance_counts(detected_mask(image, folder, config, cascade), truth.astype(bool), 2.0)
