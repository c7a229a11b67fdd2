"""A small CNN that tells crack tiles from crack-free tiles (the cascade's gate)."""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(in_ch: int, out_ch: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class TileClassifier(nn.Module):
    """Strided CNN with global max + average pooling; one crack logit per image.

    Global max pooling keeps the response of a thin crack that covers a small part of the
    tile; the network accepts any input size.
    """

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 96, 128), in_channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_channels
        for width in widths:
            layers += [_conv_bn_relu(prev, width, 2), _conv_bn_relu(width, width, 1)]
            prev = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * prev, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        pooled = torch.cat([f.amax(dim=(2, 3)), f.mean(dim=(2, 3))], dim=1)
        out: torch.Tensor = self.head(pooled).squeeze(1)
        return out
