"""MobileNet V1 (Howard et al. 2017): a stack of depthwise-separable convolutions."""

from __future__ import annotations

import torch
from torch import nn

from geowarn.errors import ModelError

#: (output channels, stride) of the 13 depthwise-separable blocks after the stem.
_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    *((512, 1),) * 5,
    (1024, 2),
    (1024, 1),
)


def _scaled(channels: int, width_mult: float) -> int:
    """``channels * width_mult`` rounded to a multiple of 8 (at least 8)."""
    return max(8, int(channels * width_mult + 4) // 8 * 8)


def _conv_bn_relu(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    ]


class DepthwiseSeparable(nn.Sequential):
    """Depthwise 3x3 conv + BN + ReLU, then pointwise 1x1 conv + BN + ReLU."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__(*_conv_bn_relu(in_ch, in_ch, 3, stride, groups=in_ch), *_conv_bn_relu(in_ch, out_ch, 1))


class MobileNetV1(nn.Module):
    """MobileNet V1 with a width multiplier; global average pooling, one crack logit per image."""

    def __init__(self, width_mult: float = 1.0, dropout: float = 0.2, in_channels: int = 3) -> None:
        super().__init__()
        if not width_mult > 0:
            raise ModelError(f"width_mult must be positive (e.g. 0.5, 0.75, 1.0), got {width_mult!r}")
        channels = _scaled(32, width_mult)
        layers: list[nn.Module] = [nn.Sequential(*_conv_bn_relu(in_channels, channels, 3, stride=2))]
        for out, stride in _BLOCKS:
            layers.append(DepthwiseSeparable(channels, _scaled(out, width_mult), stride))
            channels = _scaled(out, width_mult)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, 1))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x).mean(dim=(2, 3))
        out: torch.Tensor = self.classifier(pooled).squeeze(1)
        return out
