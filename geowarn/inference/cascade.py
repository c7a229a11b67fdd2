"""The classifier -> segmenter cascade on batches of uint8 RGB tiles."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from geowarn.device import Precision
from geowarn.errors import ModelError
from geowarn.models.preprocess import model_input
from geowarn.models.registry import ModelSpec, get_spec
from geowarn.models.weights import load_weights, manifest_entry

#: Used when neither the config nor the manifest gives a threshold.
DEFAULT_GATE_THRESHOLD = 0.5
DEFAULT_VERIFY_THRESHOLD = 0.5
DEFAULT_PROB_THRESHOLD = 0.5


@dataclass
class LoadedModel:
    """A model ready for inference with the facts provenance needs."""

    spec: ModelSpec
    module: nn.Module
    sha256: str
    threshold: float


def load_model(
    name: str, weights: Any, threshold: float | None, default_threshold: float, device: torch.device
) -> LoadedModel:
    """Load ``name`` (sha256-checked) and resolve its decision threshold."""
    module, sha = load_weights(name, weights, device=str(device))
    entry = manifest_entry(name) or {}
    resolved = threshold if threshold is not None else float(entry.get("threshold", default_threshold))
    module = module.to(memory_format=torch.channels_last)
    return LoadedModel(get_spec(name), module, sha, resolved)


class Cascade:
    """Gate tiles with a classifier, segment the positives; all under ``inference_mode``.

    ``verifier`` (optional) is the classifier that looks again at each crack candidate once the
    mask is vectorised (:mod:`geowarn.inference.verify`).
    """

    def __init__(
        self,
        segmenter: LoadedModel,
        classifier: LoadedModel | None,
        device: torch.device,
        amp_dtype: torch.dtype | None = None,
        verifier: LoadedModel | None = None,
    ) -> None:
        if segmenter.spec.task != "segment":
            raise ModelError(f"model {segmenter.spec.name!r} is a {segmenter.spec.task} model, not a segmenter")
        if classifier is not None and classifier.spec.task != "classify":
            raise ModelError(f"model {classifier.spec.name!r} is a {classifier.spec.task} model, not a classifier")
        if verifier is not None and verifier.spec.task != "classify":
            raise ModelError(f"model {verifier.spec.name!r} is a {verifier.spec.task} model, not a classifier")
        self.segmenter = segmenter
        self.classifier = classifier
        self.verifier = verifier
        self.device = device
        self.amp_dtype = amp_dtype

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        return Precision(self.amp_dtype).autocast(self.device)

    def classify(self, tiles: NDArray[np.uint8], batch: int) -> NDArray[np.float32]:
        """Crack probability per tile (N x H x W x 3 uint8 -> N); all ones without a gate."""
        if self.classifier is None:
            return np.ones(len(tiles), np.float32)
        return classify_tiles(self.classifier, tiles, batch, self.device, self.amp_dtype)

    @torch.inference_mode()
    def segment(self, tiles: NDArray[np.uint8], batch: int) -> NDArray[np.float32]:
        """Per-pixel crack probability (N x H x W x 3 uint8 -> N x H x W float32)."""
        n, h, w = tiles.shape[:3]
        multiple = self.segmenter.spec.size_multiple
        ph, pw = (-h) % multiple, (-w) % multiple
        out = np.empty((n, h, w), np.float32)
        i = 0
        for chunk in _chunks(tiles, batch):
            x = model_input(chunk, self.segmenter.spec, self.device)
            if ph or pw:
                x = F.pad(x, (0, pw, 0, ph), mode="reflect")
            with self._autocast():
                logits = self.segmenter.module(x)
            prob = torch.sigmoid(logits.float())[:, 0, :h, :w]
            out[i : i + len(chunk)] = prob.cpu().numpy()
            i += len(chunk)
        return out


@torch.inference_mode()
def classify_tiles(
    model: LoadedModel, tiles: NDArray[np.uint8], batch: int, device: torch.device, amp_dtype: torch.dtype | None
) -> NDArray[np.float32]:
    """Probability per image of a classifier (N x H x W x 3 uint8 -> N)."""
    out = []
    for chunk in _chunks(tiles, batch):
        with Precision(amp_dtype).autocast(device):
            logits = model.module(model_input(chunk, model.spec, device))
        out.append(torch.sigmoid(logits.float()).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _chunks(tiles: NDArray[np.uint8], size: int) -> Iterator[NDArray[np.uint8]]:
    for i in range(0, len(tiles), size):
        yield tiles[i : i + size]
