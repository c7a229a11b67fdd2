"""The classifier -> segmenter cascade as one ``nn.Module`` (:class:`CascadeNet`).

A tile classifier gates each image; only images whose crack probability reaches
``gate_threshold`` get the segmenter's logits, the others a constant "no crack" map.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from geowarn.errors import ModelError

#: Logit given to every pixel of a gated-out image (sigmoid is 0 in float32, finite in fp16).
NO_CRACK_LOGIT = -1.0e4


def _exporting() -> bool:
    """True while tracing or exporting, where the output shape may not depend on the data."""
    if torch.jit.is_scripting():  # type: ignore[attr-defined]
        return False
    tracing: bool = torch.jit.is_tracing()  # type: ignore[attr-defined]
    return tracing or torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling()


class CascadeNet(nn.Module):
    """Classifier gate + segmenter: N x 3 x H x W -> N x 1 x H x W segmentation logits.

    The classifier sees the input resized by ``classifier_scale`` (area resampling) or to
    ``classifier_size`` x ``classifier_size`` when set. In eval mode the segmenter runs only on
    the gated-in images. In training mode, and while tracing or exporting (ONNX,
    ``torch.export``, ``torch.compile``), it runs on the whole batch and gated-out images are
    masked with ``torch.where``: shapes stay static and the output always has a gradient
    (the gate itself has none). ``torch.jit.script`` keeps the gated path.
    """

    def __init__(
        self,
        classifier: nn.Module,
        segmenter: nn.Module,
        gate_threshold: float = 0.5,
        classifier_scale: float = 1.0,
        classifier_size: int | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= gate_threshold <= 1.0:
            raise ModelError(f"gate_threshold is a probability in [0, 1], got {gate_threshold!r}")
        if not classifier_scale > 0:
            raise ModelError(f"classifier_scale must be positive, got {classifier_scale!r}")
        self.classifier = classifier
        self.segmenter = segmenter
        self.gate_threshold = float(gate_threshold)
        self.classifier_scale = float(classifier_scale)
        self.classifier_size = classifier_size
        self.no_crack_logit = NO_CRACK_LOGIT

    def _classifier_input(self, x: torch.Tensor) -> torch.Tensor:
        size = self.classifier_size
        if size is not None:
            if x.shape[2] == size and x.shape[3] == size:
                return x
            return F.interpolate(x, size=(size, size), mode="area")
        if self.classifier_scale == 1.0:
            return x
        h = max(1, int(x.shape[2] * self.classifier_scale + 0.5))  # rounded half up
        w = max(1, int(x.shape[3] * self.classifier_scale + 0.5))
        return F.interpolate(x, size=(h, w), mode="area")

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """Boolean (N,): images whose crack probability reaches ``gate_threshold``."""
        logits = self.classifier(self._classifier_input(x))
        return torch.sigmoid(logits.float()) >= self.gate_threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = self.gate(x)
        if self.training or _exporting():
            seg = self.segmenter(x)
            return torch.where(keep.view(-1, 1, 1, 1), seg, torch.full_like(seg, self.no_crack_logit))
        out = torch.full((x.shape[0], 1, x.shape[2], x.shape[3]), self.no_crack_logit, dtype=x.dtype, device=x.device)
        index = torch.nonzero(keep).squeeze(1)
        if index.numel() > 0:
            seg = self.segmenter(x.index_select(0, index))
            out = out.index_copy(0, index, seg.to(out.dtype))
        return out
