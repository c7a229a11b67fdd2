"""Turn uint8 RGB tiles into normalised model inputs."""

from __future__ import annotations

import torch

from geowarn.models.registry import ModelSpec


def normalize(batch_uint8: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """N x 3 x H x W uint8 -> float32 normalised with the spec's mean/std."""
    mean = torch.tensor(spec.mean, device=batch_uint8.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, device=batch_uint8.device).view(1, 3, 1, 1)
    return (batch_uint8.float() / 255.0 - mean) / std
