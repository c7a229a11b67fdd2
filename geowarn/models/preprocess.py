"""Turn uint8 RGB tiles into model inputs: the spec's input scale, then normalisation."""

from __future__ import annotations

from typing import TypeVar

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

from geowarn.models.registry import ModelSpec

_T = TypeVar("_T", bound=np.generic)


def resize_stack(arrays: NDArray[_T], width: int, height: int, interpolation: int = cv2.INTER_AREA) -> NDArray[_T]:
    """Resize each array of an N x H x W (x C) stack with OpenCV (~15x faster than torch here)."""
    return np.stack([cv2.resize(a, (width, height), interpolation=interpolation) for a in arrays])


def downscale_tiles(tiles: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    """Area (box-filter) resampling of N x H x W x 3 uint8 tiles by ``scale``."""
    if scale == 1.0:
        return tiles
    h, w = tiles.shape[1:3]
    return resize_stack(tiles, max(1, round(w * scale)), max(1, round(h * scale)))


def model_input(tiles: NDArray[np.uint8], spec: ModelSpec, device: torch.device | str = "cpu") -> torch.Tensor:
    """N x H x W x 3 uint8 tiles -> the spec's scale, normalised, N x 3 x h x w channels-last float32."""
    scaled = downscale_tiles(tiles, spec.input_scale)
    if not (scaled.flags.writeable and scaled.flags.c_contiguous):
        scaled = np.array(scaled, order="C")  # torch needs writable memory
    x = torch.from_numpy(scaled)
    on_gpu = torch.device(device).type == "cuda"  # page-locked uint8 copied asynchronously, normalised there
    x = x.pin_memory().to(device, non_blocking=True) if on_gpu else x.to(device)
    mean = torch.tensor(spec.mean, device=x.device).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(spec.std, device=x.device).view(1, 3, 1, 1) * 255.0
    out = (x.permute(0, 3, 1, 2).float() - mean) / std
    return out.contiguous(memory_format=torch.channels_last)
