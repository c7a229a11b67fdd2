"""Scores of a model on a validation set, as training selects checkpoints and thresholds by them.

Classifiers see each image through the dataset's transform; segmenters see whole images
reflect-padded to the model's size multiple (:func:`full_image_logits`). ``geowarn eval``
(``geowarn.evaluation.checkpoint``) scores checkpoints and shipped models with the same functions.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.utils.data import DataLoader

from geowarn.metrics.classification import classification_report
from geowarn.metrics.segmentation import SegmentationScorer
from geowarn.models.preprocess import model_input
from geowarn.models.registry import ModelSpec, get_spec
from geowarn.training.folders import SampleDataset, collate
from geowarn.training.losses import LossFn

__all__ = [
    "best_f1_threshold",
    "classify_scores",
    "full_image_logits",
    "segment_logits",
    "segment_scores",
    "threshold_for_recall",
]


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
