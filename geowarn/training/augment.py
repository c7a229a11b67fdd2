"""Joint image/mask augmentations (torchvision transforms v2)."""

from __future__ import annotations

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2


def segmentation_augment(crop: int) -> v2.Compose:
    """Flip, rotation, scale, crop and colour jitter applied jointly to image and mask."""
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(),
            v2.RandomVerticalFlip(),
            v2.RandomApply([v2.RandomAffine(degrees=180.0, scale=(0.7, 1.4))], p=0.5),
            v2.RandomCrop(crop, pad_if_needed=True, padding_mode="reflect"),
            v2.ColorJitter(brightness=0.35, contrast=0.35, saturation=0.3, hue=0.05),
        ]
    )


def to_tensors(image_hwc: object, mask_hw: object) -> tuple[tv_tensors.Image, tv_tensors.Mask]:
    """uint8 numpy arrays to v2 image/mask tensors."""
    image = tv_tensors.Image(torch.from_numpy(image_hwc).permute(2, 0, 1).contiguous())  # type: ignore[arg-type]
    mask = tv_tensors.Mask(torch.from_numpy(mask_hw)[None])  # type: ignore[arg-type]
    return image, mask
