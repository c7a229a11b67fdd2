"""torchvision classifiers (random weights) adapted to one crack logit per image.

Each model keeps torchvision's parameter names; its final ``nn.Linear`` (one output) is
wrapped as ``Sequential(linear, Flatten(0))`` so the model returns shape ``(N,)``.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from geowarn.errors import ModelError

#: Side of the square input the tiny ViT is built for.
VIT_IMAGE_SIZE = 64


def single_logit(linear: nn.Module) -> nn.Sequential:
    """``linear`` (one output) followed by a flatten from ``(N, 1)`` to ``(N,)``."""
    return nn.Sequential(linear, nn.Flatten(0))


def alexnet(dropout: float = 0.5) -> nn.Module:
    """AlexNet (Krizhevsky et al. 2012); its adaptive pooling accepts inputs of 63 px or more."""
    from torchvision.models import alexnet as tv_alexnet

    model: Any = tv_alexnet(weights=None, num_classes=1, dropout=dropout)
    model.classifier[6] = single_logit(model.classifier[6])
    out: nn.Module = model
    return out


def resnet(depth: int) -> nn.Module:
    """ResNet18 or ResNet50 (He et al. 2016)."""
    from torchvision.models import resnet18, resnet50

    builders = {18: resnet18, 50: resnet50}
    if depth not in builders:
        raise ModelError(f"ResNet depth {depth!r} is not available; allowed: 18, 50")
    model: Any = builders[depth](weights=None, num_classes=1)
    model.fc = single_logit(model.fc)
    out: nn.Module = model
    return out


def mobilenet_v2(width_mult: float = 1.0, dropout: float = 0.2) -> nn.Module:
    """MobileNet V2 (Sandler et al. 2018): inverted residuals with linear bottlenecks."""
    from torchvision.models import mobilenet_v2 as tv_mobilenet_v2

    if not width_mult > 0:
        raise ModelError(f"width_mult must be positive (e.g. 0.5, 1.0), got {width_mult!r}")
    model: Any = tv_mobilenet_v2(weights=None, num_classes=1, width_mult=width_mult, dropout=dropout)
    model.classifier[1] = single_logit(model.classifier[1])
    out: nn.Module = model
    return out


def mobilenet_v3_small(dropout: float = 0.2) -> nn.Module:
    """MobileNet V3 small (Howard et al. 2019): NAS blocks with squeeze-excitation, hard-swish."""
    from torchvision.models import mobilenet_v3_small as tv_mobilenet_v3_small

    model: Any = tv_mobilenet_v3_small(weights=None, num_classes=1, dropout=dropout)
    model.classifier[3] = single_logit(model.classifier[3])
    out: nn.Module = model
    return out


def vit_tiny(
    patch_size: int = 8,
    num_layers: int = 6,
    num_heads: int = 4,
    hidden_dim: int = 192,
    mlp_dim: int = 384,
    dropout: float = 0.0,
) -> nn.Module:
    """Small Vision Transformer (Dosovitskiy et al. 2021) for 64 x 64 inputs."""
    from torchvision.models import VisionTransformer

    if patch_size < 1 or VIT_IMAGE_SIZE % patch_size:
        raise ModelError(f"patch_size must divide the {VIT_IMAGE_SIZE} px input, got {patch_size!r}")
    if num_heads < 1 or hidden_dim % num_heads:
        raise ModelError(f"hidden_dim ({hidden_dim}) must be a multiple of num_heads ({num_heads})")
    model: Any = VisionTransformer(
        image_size=VIT_IMAGE_SIZE,
        patch_size=patch_size,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        mlp_dim=mlp_dim,
        dropout=dropout,
        num_classes=1,
    )
    model.heads.head = single_logit(model.heads.head)
    out: nn.Module = model
    return out
