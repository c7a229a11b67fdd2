"""Augmentations (torchvision transforms v2), applied jointly to image and mask.

Besides the geometric and photometric augmentations of the slope-crack papers (flip, rotation,
scale, crop, brightness/contrast/hue), colour is randomised strongly (per-channel gains,
full hue rotation, grey images): the crack sets are grey pavement and concrete, while slopes
are brown, ochre or grey soil and rock, so the models must rely on the crack's shape and
darkness, not on the colour of the ground.
"""

from __future__ import annotations

from typing import Any

import torch
from numpy.typing import NDArray
from torchvision import tv_tensors
from torchvision.transforms import v2


class RandomChannelGain(v2.Transform):  # type: ignore[misc]
    """Multiply each RGB channel of images (not masks) by a random gain in ``[low, high]``."""

    def __init__(self, low: float = 0.7, high: float = 1.3) -> None:
        super().__init__()
        self.low, self.high = low, high

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {"gain": torch.empty(3, 1, 1).uniform_(self.low, self.high)}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, tv_tensors.Image):
            out = (inpt.float() * params["gain"]).clamp_(0, 255).to(inpt.dtype)
            return tv_tensors.wrap(out, like=inpt)
        return inpt


def light_blur() -> v2.GaussianBlur:
    """A light Gaussian blur (5 px kernel, sigma 0.3-1.2): slightly defocused or resampled imagery."""
    return v2.GaussianBlur(5, sigma=(0.3, 1.2))


def colour_augment() -> v2.Compose:
    """Colour and blur changes that keep crack geometry (images only)."""
    return v2.Compose(
        [
            v2.RandomApply([RandomChannelGain(0.6, 1.4)], p=0.7),
            v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.5, hue=0.5),
            v2.RandomGrayscale(p=0.15),
            v2.RandomApply([light_blur()], p=0.2),
        ]
    )


def segmentation_augment(crop: int) -> v2.Compose:
    """Flip, rotation, scale, crop and colour changes applied jointly to image and mask."""
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(),
            v2.RandomVerticalFlip(),
            v2.RandomApply([v2.RandomAffine(degrees=180.0, scale=(0.6, 2.0))], p=0.6),
            v2.RandomCrop(crop, pad_if_needed=True, padding_mode="reflect"),
            colour_augment(),
        ]
    )


def classification_augment() -> v2.Compose:
    """Flip, rotation, scale and colour changes for crack / no-crack patches."""
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(),
            v2.RandomVerticalFlip(),
            v2.RandomApply([v2.RandomAffine(degrees=180.0, scale=(0.7, 1.6))], p=0.4),
            colour_augment(),
        ]
    )


def image_tensor(image_hwc: NDArray[Any]) -> tv_tensors.Image:
    """A uint8 H x W x 3 numpy array as a v2 image tensor (3 x H x W)."""
    return tv_tensors.Image(torch.tensor(image_hwc).permute(2, 0, 1).contiguous())  # copies: inputs may be read-only


def to_tensors(image_hwc: NDArray[Any], mask_hw: NDArray[Any]) -> tuple[tv_tensors.Image, tv_tensors.Mask]:
    """uint8 numpy arrays to v2 image/mask tensors."""
    return image_tensor(image_hwc), tv_tensors.Mask(torch.tensor(mask_hw)[None])
