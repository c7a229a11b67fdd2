"""LeNet-5 and LeNet-5 with an Inception-v3 block after its second conv stage.

The Inception variants follow the slope-crack transfer-learning study of Yang & Mei: an
InceptionA or InceptionE block (Szegedy et al. 2016, from torchvision) widens LeNet's
16-channel 5x5 features before the fully connected layers.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from geowarn.errors import ModelError

#: LeNet-5 needs a fixed 32 x 32 input (its first linear layer sees 16 x 5 x 5 features).
LENET_INPUT_SIZE = 32

InceptionKind = Literal["A", "E"]


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) with ReLU and max pooling; one crack logit per image.

    ``block`` (with ``block_channels`` output channels) runs on the 5 x 5 map after the second
    conv stage and must keep its spatial size.
    """

    def __init__(
        self, block: nn.Module | None = None, block_channels: int = 16, dropout: float = 0.0, in_channels: int = 3
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.block = block if block is not None else nn.Identity()
        self.classifier = nn.Sequential(
            nn.Flatten(1),
            nn.Dropout(dropout),
            nn.Linear(block_channels * 5 * 5, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(84, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.classifier(self.block(self.features(x)))).squeeze(1)
        return out


def lenet5_inception(kind: InceptionKind, pool_features: int = 32, dropout: float = 0.0) -> LeNet5:
    """LeNet-5 with torchvision's Inception-v3 ``InceptionA`` or ``InceptionE`` block.

    ``pool_features`` is InceptionA's pooling-branch width (InceptionA outputs
    ``224 + pool_features`` channels, InceptionE 2048).
    """
    from torchvision.models.inception import InceptionA, InceptionE

    block: nn.Module
    if kind == "A":
        if pool_features < 1:
            raise ModelError(f"pool_features must be a positive integer, got {pool_features!r}")
        block, channels = InceptionA(16, pool_features=pool_features), 224 + pool_features
    elif kind == "E":
        block, channels = InceptionE(16), 2048
    else:
        raise ModelError(f"unknown Inception block {kind!r}; allowed: 'A', 'E'")
    return LeNet5(block=block, block_channels=channels, dropout=dropout)
