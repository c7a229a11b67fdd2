"""Scores of a checkpoint or a shipped model on folders: ``geowarn eval classify|segment``.

Classifiers see each image through the run's evaluation transform (resize / centre crop, model
input size, normalisation); segmenters see whole images reflect-padded to the model's size
multiple (:func:`geowarn.training.validation.full_image_logits`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from geowarn.errors import ConfigError
from geowarn.metrics.classification import classification_report, format_classification_table
from geowarn.metrics.segmentation import SegmentationScorer, format_segmentation_table
from geowarn.models.registry import ModelSpec, get_spec
from geowarn.training.config import AugmentConfig, DataConfig, Task
from geowarn.training.folders import SampleDataset, folder_samples
from geowarn.training.transforms import build_transform
from geowarn.training.validation import classify_scores, segment_scores


@dataclass
class Evaluated:
    """A model ready to score, with how its inputs are prepared."""

    name: str
    model: nn.Module
    spec: ModelSpec
    threshold: float
    augment: AugmentConfig
    source: str


def load_evaluated(ref: str, task: Task, device: torch.device) -> Evaluated:
    """A training checkpoint (path) or a registry name with shipped weights."""
    path = Path(ref)
    if path.exists() or path.suffix == ".pt":
        from geowarn.training.checkpoint import model_from_checkpoint

        model, meta = model_from_checkpoint(path)
        augment = AugmentConfig(**meta.get("config", {}).get("augment", {}))
        name, threshold = meta["model"], float(meta.get("threshold", 0.5))
    else:
        from geowarn.models.weights import load_weights, manifest_entry

        model, _ = load_weights(ref)
        name, augment = ref, AugmentConfig()
        threshold = float((manifest_entry(ref) or {}).get("threshold", 0.5))
    spec = get_spec(name)
    if spec.task != task:
        raise ConfigError(f"{ref}: model {name!r} is a {spec.task} model; use geowarn eval {spec.task}")
    return Evaluated(name, model.to(device).eval(), spec, threshold, augment, str(ref))


def evaluate_folders(
    ev: Evaluated,
    folders: list[Path],
    split: str | None,
    data: DataConfig,
    device: torch.device,
    batch_size: int = 32,
    limit: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Report per folder, plus ``all`` when there are several."""
    task = ev.spec.task
    transform = build_transform(ev.augment, ev.spec, task, train=False)
    per_folder = {
        str(f): SampleDataset(folder_samples(f, split, task, data, limit), transform, cache=False) for f in folders
    }
    reports: dict[str, dict[str, Any]] = {}
    if task == "classify":
        results = {k: classify_scores(ev.model, ds, device, batch_size)[:2] for k, ds in per_folder.items()}
        for key, (labels, probs) in results.items():
            reports[key] = classification_report(labels, probs, ev.threshold)
        if len(results) > 1:
            labels = np.concatenate([r[0] for r in results.values()])
            probs = np.concatenate([r[1] for r in results.values()])
            reports["all"] = classification_report(labels, probs, ev.threshold)
        return reports
    merged = SegmentationScorer(ev.threshold)
    for key, ds in per_folder.items():
        reports[key] = segment_scores(ev.model, ev.spec, ds, device, ev.threshold, also=merged)[0].report()
    if len(per_folder) > 1:
        reports["all"] = merged.report()
    return reports


def format_table(task: Task, name: str, reports: dict[str, dict[str, Any]]) -> str:
    """The scoring table, one row per folder."""
    rows = {f"{name} {k}": r for k, r in reports.items()}
    return format_classification_table(rows) if task == "classify" else format_segmentation_table(rows)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """``payload`` as indented JSON (numpy scalars converted)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=lambda v: v.item() if hasattr(v, "item") else str(v)) + "\n")
