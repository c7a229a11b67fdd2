"""Scores of a checkpoint or a shipped model on folders: ``geowarn eval classify|segment``.

Classifiers see each image through the run's evaluation transform (resize / centre crop, model
input size, normalisation); segmenters see whole images reflect-padded to the model's size
multiple (:func:`full_image_logits`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.utils.data import DataLoader

from geowarn.errors import ConfigError
from geowarn.evaluation.classification import classification_report, format_classification_table
from geowarn.evaluation.segmentation import SegmentationScorer, format_segmentation_table
from geowarn.models.preprocess import model_input
from geowarn.models.registry import ModelSpec, get_spec
from geowarn.training.config import AugmentConfig, DataConfig, Task
from geowarn.training.folders import SampleDataset, collate, folder_samples
from geowarn.training.losses import LossFn
from geowarn.training.transforms import build_transform


@torch.inference_mode()
def classify_scores(
    model: nn.Module, dataset: SampleDataset, device: torch.device, batch_size: int, loss_fn: LossFn | None = None
) -> tuple[NDArray[np.bool_], NDArray[np.float64], float | None]:
    """(labels, crack probabilities, mean loss or None) over ``dataset``."""
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate)
    labels, probs, losses = [], [], []
    for x, y in loader:
        logits = model(x.to(device)).float()
        if loss_fn is not None:
            losses.append(float(loss_fn(logits, y.to(device))) * len(y))
        labels.append(y.numpy() > 0.5)
        probs.append(torch.sigmoid(logits).cpu().numpy().astype(np.float64))
    loss = sum(losses) / len(dataset) if losses and len(dataset) else None
    return np.concatenate(labels), np.concatenate(probs), loss


def full_image_logits(
    model: nn.Module, image: NDArray[np.uint8], multiple: int, spec_name: str, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """Crack logits (H x W, on ``device``) for a whole image, reflect-padded to the model's size multiple."""
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    padded = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    logits: torch.Tensor = model(model_input(padded[None], get_spec(spec_name), device))
    return logits[0, 0, :h, :w]


def segment_logits(model: nn.Module, image: NDArray[np.uint8], spec: ModelSpec, device: torch.device) -> torch.Tensor:
    """H x W crack logits of a whole image (fixed-input models: resized there and back)."""
    if not spec.input_size:
        return full_image_logits(model, image, spec.size_multiple, spec.name, device)
    h, w = image.shape[:2]
    side = spec.input_size
    small = np.ascontiguousarray(cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    logits = full_image_logits(model, small, 1, spec.name, device)
    return nn.functional.interpolate(logits[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]


@torch.inference_mode()
def segment_scores(
    model: nn.Module,
    spec: ModelSpec,
    dataset: SampleDataset,
    device: torch.device,
    threshold: float = 0.5,
    loss_fn: LossFn | None = None,
    also: SegmentationScorer | None = None,
) -> tuple[SegmentationScorer, float | None]:
    """A scorer filled with every image of ``dataset`` (``also`` gets them too), and the mean loss."""
    model.eval()
    scorer = SegmentationScorer(threshold)
    losses = []
    for i in range(len(dataset)):
        image, mask = dataset.raw(i)
        assert mask is not None
        logits = segment_logits(model, image, spec, device).float()
        if loss_fn is not None:
            target = torch.from_numpy(mask).to(device=device, dtype=torch.float32)
            losses.append(float(loss_fn(logits[None, None], target[None, None])))
        prob = torch.sigmoid(logits).cpu().numpy()
        for target_scorer in (scorer, also) if also is not None else (scorer,):
            target_scorer.add(prob, mask.astype(bool))
    return scorer, (float(np.mean(losses)) if losses else None)


def best_f1_threshold(labels: NDArray[np.bool_], probs: NDArray[np.float64]) -> float:
    """Threshold of the sweep 0.05..0.95 with the best F1 (ties: the one nearest 0.5; 0.5 if undefined)."""
    sweep = sorted((round(0.05 * i, 2) for i in range(1, 20)), key=lambda t: abs(t - 0.5))
    best, best_f1 = 0.5, -1.0
    for t in sweep:
        f1 = classification_report(labels, probs, t)["F1"]
        if f1 is not None and f1 > best_f1:
            best, best_f1 = t, f1
    return best


def threshold_for_recall(positive_scores: NDArray[np.float64], target_recall: float) -> float:
    """Highest threshold keeping ``target_recall`` of the positives (0.5 without positives)."""
    if not positive_scores.size:
        return 0.5
    needed = max(1, math.ceil(target_recall * positive_scores.size - 1e-9))
    return float(np.sort(positive_scores)[::-1][needed - 1])


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
