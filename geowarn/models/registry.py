"""Registry of crack models by name: architecture, input conventions and default weights."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from torch import nn

from geowarn.errors import ModelError
from geowarn.models.classifier import TileClassifier
from geowarn.models.unet import UNet
from geowarn.models.zoo import catalog, torchvision_models
from geowarn.models.zoo.cascade import CascadeNet

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
        builder: Callable returning a freshly initialised ``nn.Module``; its keyword arguments
            are the model's options (``build_model(name, **options)``).
        input_scale: Factor applied to tile pixels before the model (0.5 = half size).
        size_multiple: Input sides must be multiples of this (after scaling).
        weights_file: Default weights file name inside the models directory, if shipped.
        description: One line for ``geowarn models``.
        input_size: Square side in pixels the model needs (patches are resized to it), or
            ``None`` when any size (respecting ``size_multiple``) works.
        head_prefixes: Parameter-name prefixes of the task head; "freeze backbone" transfer
            learning trains only these.
        options: Default builder options, recorded in checkpoints with the overrides.

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
    input_size: int | None = None
    head_prefixes: tuple[str, ...] = ("head",)
    options: Mapping[str, Any] = field(default_factory=dict)

    def option_names(self) -> list[str]:
        """Keyword options the builder accepts."""
        params = inspect.signature(self.builder).parameters.values()
        return [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


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


def build_model(name: str, **options: Any) -> nn.Module:
    """Build the architecture registered as ``name`` with random weights.

    ``options`` override the spec's default builder options; unknown names are refused.
    """
    spec = get_spec(name)
    known = spec.option_names()
    unknown = sorted(set(options) - set(known))
    if unknown:
        hint = ", ".join(known) or "none"
        raise ModelError(f"model {name!r} has no option(s) {', '.join(unknown)}; its options: {hint}")
    return spec.builder(**{**spec.options, **options})


def _tile_classifier(widths: tuple[int, ...] = (8, 16, 32, 64, 96)) -> nn.Module:
    return TileClassifier(widths=tuple(widths))


def _unet(base_channels: int = 8, depth: int = 4) -> nn.Module:
    return UNet(base_channels=base_channels, depth=depth)


_TILE_GATE = register(
    ModelSpec(
        name="tilecls-s",
        task="classify",
        builder=_tile_classifier,
        input_scale=0.5,
        size_multiple=1,
        weights_file="tilecls-s.pt",
        description="small strided CNN tile gate (crack / no crack), half-resolution input",
    )
)
register(  # the same network, with weights of its own
    replace(
        _TILE_GATE,
        name="verify-s",
        weights_file="verify-s.pt",
        description="crack candidate verifier: tilecls-s trained on the segmenter's candidates, 128-px patches",
    )
)
register(
    ModelSpec(
        name="unet-s",
        task="segment",
        builder=_unet,
        input_scale=1.0,
        size_multiple=16,
        weights_file="unet-s.pt",
        description="U-Net, 8 base channels, 4 levels: per-pixel crack probability",
    )
)


# --- Model zoo: architectures from the crack-detection literature (random weights). ---


def cascade_from_parts(
    classifier: nn.Module,
    segmenter: nn.Module,
    gate_threshold: float = 0.5,
    classifier_spec: ModelSpec | None = None,
    segmenter_spec: ModelSpec | None = None,
) -> CascadeNet:
    """A :class:`~geowarn.models.zoo.cascade.CascadeNet` of already built (or loaded) parts.

    With the parts' specs the tasks are checked and the classifier gets its own input
    convention: its ``input_size``, or its ``input_scale`` relative to the segmenter's.
    """
    scale, size = 1.0, None
    if classifier_spec is not None:
        if classifier_spec.task != "classify":
            raise ModelError(f"model {classifier_spec.name!r} is a {classifier_spec.task} model, not a classifier")
        seg_scale = segmenter_spec.input_scale if segmenter_spec is not None else 1.0
        scale, size = classifier_spec.input_scale / seg_scale, classifier_spec.input_size
    if segmenter_spec is not None and segmenter_spec.task != "segment":
        raise ModelError(f"model {segmenter_spec.name!r} is a {segmenter_spec.task} model, not a segmenter")
    return CascadeNet(classifier, segmenter, gate_threshold, classifier_scale=scale, classifier_size=size)


def _cascade(
    classifier: str = "tilecls-s",
    segmenter: str = "unet-s",
    gate_threshold: float = 0.5,
    classifier_options: Mapping[str, Any] | None = None,
    segmenter_options: Mapping[str, Any] | None = None,
) -> nn.Module:
    """Cascade of two registered models; the spec's input conventions are the default segmenter's."""
    classifier_spec, segmenter_spec = get_spec(classifier), get_spec(segmenter)
    return cascade_from_parts(
        build_model(classifier, **dict(classifier_options or {})),
        build_model(segmenter, **dict(segmenter_options or {})),
        gate_threshold,
        classifier_spec=classifier_spec,
        segmenter_spec=segmenter_spec,
    )


for _spec in (
    ModelSpec(
        name="lenet5",
        task="classify",
        builder=catalog.lenet5,
        input_size=32,
        description="LeNet-5 (ReLU, max pool), 32 px input: slope-crack transfer-learning baseline",
    ),
    ModelSpec(
        name="lenet5-inception-a",
        task="classify",
        builder=catalog.lenet5_inception_a,
        input_size=32,
        description="LeNet-5 + Inception-v3 InceptionA block after conv stage 2 (slope cracks, Yang & Mei)",
    ),
    ModelSpec(
        name="lenet5-inception-e",
        task="classify",
        builder=catalog.lenet5_inception_e,
        input_size=32,
        description="LeNet-5 + Inception-v3 InceptionE block after conv stage 2 (slope cracks, Yang & Mei)",
    ),
    ModelSpec(
        name="alexnet",
        task="classify",
        builder=torchvision_models.alexnet,
        input_size=64,
        head_prefixes=("classifier",),
        description="AlexNet (torchvision) at 64 px input (CPU-friendly; needs >= 63 px): transfer baseline",
    ),
    ModelSpec(
        name="resnet18",
        task="classify",
        builder=catalog.resnet18,
        head_prefixes=("fc",),
        description="ResNet18 (torchvision): residual classifier baseline",
    ),
    ModelSpec(
        name="resnet50",
        task="classify",
        builder=catalog.resnet50,
        head_prefixes=("fc",),
        description="ResNet50 (torchvision): bridge-crack classifier baseline without ASPP",
    ),
    ModelSpec(
        name="resnet50-aspp",
        task="classify",
        builder=catalog.resnet50_aspp,
        head_prefixes=("fc",),
        options={"insert_after": "layer1", "rates": (2, 4, 8)},
        description="ResNet50 + ASPP(2,4,8) with depthwise-separable convs after layer1 (bridge-crack classifier)",
    ),
    ModelSpec(
        name="mobilenet-v1",
        task="classify",
        builder=catalog.mobilenet_v1,
        head_prefixes=("classifier",),
        description="MobileNet V1 (Howard et al. 2017): depthwise-separable conv stack, width_mult option",
    ),
    ModelSpec(
        name="mobilenet-v2",
        task="classify",
        builder=torchvision_models.mobilenet_v2,
        head_prefixes=("classifier",),
        description="MobileNet V2 (torchvision): inverted residuals, linear bottlenecks",
    ),
    ModelSpec(
        name="mobilenet-v3-small",
        task="classify",
        builder=torchvision_models.mobilenet_v3_small,
        head_prefixes=("classifier",),
        description="MobileNet V3 small (torchvision): squeeze-excitation, hard-swish",
    ),
    ModelSpec(
        name="vit-tiny",
        task="classify",
        builder=torchvision_models.vit_tiny,
        input_size=64,
        head_prefixes=("heads",),
        description="Vision Transformer, 64 px input, 8 px patches, 6 layers x 4 heads, width 192",
    ),
    ModelSpec(
        name="unet",
        task="segment",
        builder=catalog.unet,
        size_multiple=16,
        options={"base_channels": 16, "depth": 4},
        description="U-Net (Ronneberger et al. 2015), configurable base_channels and depth (<= 4)",
    ),
    ModelSpec(
        name="cascade",
        task="segment",
        builder=_cascade,
        size_multiple=16,
        head_prefixes=("segmenter.head",),
        options={"classifier": "tilecls-s", "segmenter": "unet-s", "gate_threshold": 0.5},
        description="tile classifier gate -> segmenter in one model; gated-out images get no-crack logits",
    ),
):
    register(_spec)
