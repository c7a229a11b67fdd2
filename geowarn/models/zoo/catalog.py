"""Builders of the zoo models: their keyword arguments are the registry options.

torchvision is imported only when a torchvision-based model is built; the plain torchvision
builders (AlexNet, MobileNet V2/V3, ViT) are registered straight from ``torchvision_models``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from geowarn.errors import ModelError
from geowarn.models.unet import UNet
from geowarn.models.zoo import torchvision_models as tv
from geowarn.models.zoo.aspp import DEFAULT_RATES
from geowarn.models.zoo.lenet import LeNet5, lenet5_inception
from geowarn.models.zoo.mobilenet_v1 import MobileNetV1
from geowarn.models.zoo.resnet_aspp import ResNet50ASPP

#: Deepest U-Net the ``unet`` spec allows: its inputs are multiples of 2**4 = 16.
UNET_MAX_DEPTH = 4


def lenet5(dropout: float = 0.0) -> nn.Module:
    """LeNet-5, 32 x 32 input."""
    return LeNet5(dropout=dropout)


def lenet5_inception_a(pool_features: int = 32, dropout: float = 0.0) -> nn.Module:
    """LeNet-5 + InceptionA after the second conv stage."""
    return lenet5_inception("A", pool_features=pool_features, dropout=dropout)


def lenet5_inception_e(dropout: float = 0.0) -> nn.Module:
    """LeNet-5 + InceptionE after the second conv stage."""
    return lenet5_inception("E", dropout=dropout)


def resnet18() -> nn.Module:
    """The torchvision ResNet18, one logit."""
    return tv.resnet(18)


def resnet50() -> nn.Module:
    """The torchvision ResNet50, one logit."""
    return tv.resnet(50)


def resnet50_aspp(
    insert_after: str = "layer1", rates: Sequence[int] = DEFAULT_RATES, branch_channels: int | None = None
) -> nn.Module:
    """ResNet50 with depthwise-separable ASPP after ``insert_after``."""
    return ResNet50ASPP(insert_after=insert_after, rates=rates, branch_channels=branch_channels)


def mobilenet_v1(width_mult: float = 1.0, dropout: float = 0.2) -> nn.Module:
    """MobileNet V1 with a width multiplier."""
    return MobileNetV1(width_mult=width_mult, dropout=dropout)


def unet(base_channels: int = 16, depth: int = 4) -> nn.Module:
    """Configurable U-Net; ``depth`` up to 4 so inputs that are multiples of 16 always fit."""
    if not 1 <= depth <= UNET_MAX_DEPTH:
        raise ModelError(f"unet depth must be 1..{UNET_MAX_DEPTH} (inputs are multiples of 16), got {depth!r}")
    if base_channels < 1:
        raise ModelError(f"unet base_channels must be a positive integer, got {base_channels!r}")
    return UNet(base_channels=base_channels, depth=depth)
