"""A compact U-Net for binary crack segmentation (Ronneberger et al. 2015)."""

from __future__ import annotations

import torch
from torch import nn


def _double_conv(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net with ``depth`` poolings; input sides must be multiples of ``2**depth``.

    Returns one logit per pixel (crack vs background).
    """

    def __init__(self, base_channels: int = 8, depth: int = 4, in_channels: int = 3) -> None:
        super().__init__()
        channels = [base_channels * 2**i for i in range(depth + 1)]
        self.depth = depth
        self.encoders = nn.ModuleList(
            _double_conv(in_channels if i == 0 else channels[i - 1], channels[i]) for i in range(depth + 1)
        )
        self.upsamplers = nn.ModuleList(
            nn.ConvTranspose2d(channels[i + 1], channels[i], 2, stride=2) for i in range(depth)
        )
        self.decoders = nn.ModuleList(_double_conv(channels[i] * 2, channels[i]) for i in range(depth))
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Conv2d(channels[0], 1, 1)

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return int(2**self.depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips: list[torch.Tensor] = []
        for i, encoder in enumerate(self.encoders):
            x = encoder(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for i in reversed(range(self.depth)):
            x = self.decoders[i](torch.cat([self.upsamplers[i](x), skips[i]], dim=1))
        out: torch.Tensor = self.head(x)
        return out
