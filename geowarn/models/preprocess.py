"""Turn uint8 RGB tiles into model inputs: normalisation and the spec's input scale."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from geowarn.models.registry import ModelSpec


def normalize(batch_uint8: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """N x 3 x H x W uint8 -> float32 normalised with the spec's mean/std."""
    mean = torch.tensor(spec.mean, device=batch_uint8.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, device=batch_uint8.device).view(1, 3, 1, 1)
    return (batch_uint8.float() / 255.0 - mean) / std


def prepare_input(batch_uint8: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """Normalise and rescale (antialiased) as the model was trained; channels-last layout."""
    x = normalize(batch_uint8, spec)
    if spec.input_scale != 1.0:
        x = F.interpolate(x, scale_factor=spec.input_scale, mode="bilinear", antialias=True, align_corners=False)
    return x.contiguous(memory_format=torch.channels_last)
