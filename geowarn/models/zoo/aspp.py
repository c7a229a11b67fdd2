"""Atrous spatial pyramid pooling built from depthwise-separable convolutions.

The bridge-crack classifier inserts this module into ResNet50: parallel dilated branches
(rates 2, 4, 8 by default) widen the receptive field for long thin cracks at little cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from geowarn.errors import ModelError

DEFAULT_RATES = (2, 4, 8)


def check_rates(rates: Sequence[int]) -> tuple[int, ...]:
    """``rates`` as a tuple; refuses an empty sequence or a non-positive or non-integer rate."""
    ok = (
        isinstance(rates, Sequence)
        and not isinstance(rates, str)
        and len(rates) > 0
        and all(isinstance(r, int) and not isinstance(r, bool) and r > 0 for r in rates)
    )
    if not ok:
        raise ModelError(
            f"ASPP rates must be a non-empty sequence of positive integers such as (2, 4, 8); got {rates!r}"
        )
    return tuple(rates)


class SeparableAtrousConv(nn.Sequential):
    """Depthwise 3x3 conv with dilation ``rate``, pointwise 1x1 conv, BN, ReLU."""

    def __init__(self, in_ch: int, out_ch: int, rate: int) -> None:
        super().__init__(
            nn.Conv2d(in_ch, in_ch, 3, padding=rate, dilation=rate, groups=in_ch, bias=False),
            nn.Conv2d(in_ch, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class ImagePooling(nn.Module):
    """Global average pool, 1x1 conv + ReLU, broadcast back to the input size.

    No batch norm on the 1 x 1 map, so training with a batch of one still works.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.relu(self.conv(x.mean(dim=(2, 3), keepdim=True)))
        return y.expand(-1, -1, x.shape[2], x.shape[3])


class ASPP(nn.Module):
    """ASPP: 1x1, separable atrous (one per rate) and image-pooling branches, fused by 1x1 conv.

    The concatenated branches are projected by 1x1 conv + BN + ReLU. ``out_channels``
    defaults to ``in_channels`` (a drop-in insertion), ``branch_channels`` to
    ``min(in_channels, 256)``. The spatial size is kept.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        rates: Sequence[int] = DEFAULT_RATES,
        branch_channels: int | None = None,
    ) -> None:
        super().__init__()
        self.rates = check_rates(rates)
        out = in_channels if out_channels is None else out_channels
        branch = min(in_channels, 256) if branch_channels is None else branch_channels
        if min(in_channels, out, branch) < 1:
            raise ModelError(f"ASPP channel counts must be positive; got in={in_channels}, out={out}, branch={branch}")
        self.branches = nn.ModuleList(
            [
                nn.Sequential(nn.Conv2d(in_channels, branch, 1, bias=False), nn.BatchNorm2d(branch), nn.ReLU(True)),
                *(SeparableAtrousConv(in_channels, branch, r) for r in self.rates),
            ]
        )
        self.pooling = ImagePooling(in_channels, branch)
        self.project = nn.Sequential(
            nn.Conv2d(branch * (len(self.rates) + 2), out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [branch(x) for branch in self.branches]
        features.append(self.pooling(x))
        out: torch.Tensor = self.project(torch.cat(features, dim=1))
        return out
