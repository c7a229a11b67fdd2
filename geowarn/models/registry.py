"""Registry of crack models by name: architecture, input conventions and default weights."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from torch import nn

from geowarn.errors import ModelError
from geowarn.models.classifier import TileClassifier
from geowarn.models.unet import UNet

Task = Literal["classify", "segment"]

#: ImageNet-style per-channel statistics used by every shipped model (RGB in [0, 1]).
RGB_MEAN = (0.485, 0.456, 0.406)
RGB_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelSpec:
    """How to build a model and feed it.

    Attributes:
        name: Registry name, used in configs, manifests and provenance.
        task: ``classify`` (one logit per image) or ``segment`` (one logit per pixel).
        builder: Callable returning a freshly initialised ``nn.Module``.
        input_scale: Factor applied to tile pixels before the model (0.5 = half size).
        size_multiple: Input sides must be multiples of this (after scaling).
        weights_file: Default weights file name inside the models directory, if shipped.
        description: One line for ``geowarn models``.

    """

    name: str
    task: Task
    builder: Callable[[], nn.Module]
    input_scale: float = 1.0
    size_multiple: int = 1
    weights_file: str | None = None
    description: str = ""
    mean: tuple[float, float, float] = field(default=RGB_MEAN)
    std: tuple[float, float, float] = field(default=RGB_STD)


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to the registry; names are unique."""
    if spec.name in _REGISTRY:
        raise ModelError(f"model name {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> ModelSpec:
    """Return the spec registered as ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelError(f"unknown model {name!r}; known models: {known}") from None


def list_models(task: Task | None = None) -> list[ModelSpec]:
    """All registered specs, optionally only those for ``task``."""
    return [s for s in _REGISTRY.values() if task is None or s.task == task]


def build_model(name: str) -> nn.Module:
    """Build the architecture registered as ``name`` with random weights."""
    return get_spec(name).builder()


register(
    ModelSpec(
        name="tilecls-s",
        task="classify",
        builder=lambda: TileClassifier(widths=(8, 16, 32, 64, 96)),
        input_scale=0.5,
        size_multiple=1,
        weights_file="tilecls-s.pt",
        description="small strided CNN tile gate (crack / no crack), half-resolution input",
    )
)
register(
    ModelSpec(
        name="unet-s",
        task="segment",
        builder=lambda: UNet(base_channels=8, depth=4),
        input_scale=1.0,
        size_multiple=16,
        weights_file="unet-s.pt",
        description="U-Net, 8 base channels, 4 levels: per-pixel crack probability",
    )
)
