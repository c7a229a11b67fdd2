"""Configured transforms v2 pipelines: augmentation, model input size and normalisation.

Geometric steps act jointly on ``tv_tensors.Image`` and ``tv_tensors.Mask`` (masks are resized
with nearest neighbour and never normalised). After augmentation, images go to the model's
fixed ``input_size`` (or its ``input_scale``) and are normalised with the spec's mean/std,
as :func:`geowarn.models.preprocess.model_input` does at inference.
"""

from __future__ import annotations

from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from geowarn.models.registry import ModelSpec
from geowarn.training.augment import RandomChannelGain, light_blur
from geowarn.training.config import AugmentConfig, Task


class ScaleBy(v2.Transform):  # type: ignore[misc]
    """Resize images and masks by a factor (the spec's ``input_scale``)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, (tv_tensors.Image, tv_tensors.Mask)):
            return inpt
        h, w = inpt.shape[-2:]
        size = [max(1, round(h * self.factor)), max(1, round(w * self.factor))]
        return v2.functional.resize(inpt, size, antialias=True)


def augmentations(aug: AugmentConfig) -> list[v2.Transform]:
    """The configured augmentations, in the order they apply (geometric steps, crop, colour, blur)."""
    steps: list[v2.Transform] = []
    if aug.hflip:
        steps.append(v2.RandomHorizontalFlip(aug.hflip))
    if aug.vflip:
        steps.append(v2.RandomVerticalFlip(aug.vflip))
    if aug.rotation or aug.scale is not None:
        affine = v2.RandomAffine(degrees=aug.rotation, scale=aug.scale)
        steps.append(v2.RandomApply([affine], p=aug.affine_p))
    if aug.crop:
        if aug.crop_mode == "random":
            steps.append(v2.RandomCrop(aug.crop, pad_if_needed=True, padding_mode="reflect"))
        else:
            steps.append(v2.CenterCrop(aug.crop))
    if aug.channel_gain:
        steps.append(v2.RandomApply([RandomChannelGain(0.6, 1.4)], p=aug.channel_gain))
    if aug.brightness or aug.contrast or aug.saturation or aug.hue:
        steps.append(v2.ColorJitter(aug.brightness, aug.contrast, aug.saturation, aug.hue))
    if aug.grayscale:
        steps.append(v2.RandomGrayscale(aug.grayscale))
    if aug.blur:
        steps.append(v2.RandomApply([light_blur()], p=aug.blur))
    return steps


def model_steps(spec: ModelSpec) -> list[v2.Transform]:
    """Model input size, float conversion and the spec's normalisation."""
    steps: list[v2.Transform] = []
    if spec.input_size:
        steps.append(v2.Resize((spec.input_size, spec.input_size), antialias=True))
    elif spec.input_scale != 1.0:
        steps.append(ScaleBy(spec.input_scale))
    steps.append(v2.ToDtype({tv_tensors.Image: torch.float32, "others": None}, scale=True))
    steps.append(v2.Normalize(list(spec.mean), list(spec.std)))
    return steps


def build_transform(aug: AugmentConfig, spec: ModelSpec, task: Task, train: bool) -> v2.Compose:
    """The training (augmenting) or evaluation (deterministic) pipeline.

    Evaluation keeps ``resize``; classification also centre-crops to ``crop``, while
    segmentation evaluates whole images.
    """
    steps: list[v2.Transform] = []
    if aug.resize:
        steps.append(v2.Resize((aug.resize, aug.resize), antialias=True))
    if train:
        steps += augmentations(aug)
    elif aug.crop and task == "classify":
        steps.append(v2.CenterCrop(aug.crop))
    return v2.Compose(steps + model_steps(spec))
