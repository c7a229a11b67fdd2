"""ResNet50 with an ASPP module inserted after one of its stages (bridge-crack classifier)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from geowarn.errors import ModelError
from geowarn.models.zoo.aspp import ASPP, DEFAULT_RATES, check_rates

#: Output channels of each ResNet50 stage where ASPP may be inserted.
STAGE_CHANNELS = {"conv1": 64, "layer1": 256, "layer2": 512, "layer3": 1024, "layer4": 2048}


class ResNet50ASPP(nn.Module):
    """torchvision ResNet50 (random weights, one logit) with ASPP after ``insert_after``.

    ``conv1`` means after the stem convolution, its BN and ReLU (before max pooling).
    Parameter names match torchvision's ResNet50 plus ``aspp.*``, so backbone weights load
    with ``strict=False``. ASPP keeps the channel count; the rest of ResNet50 is unchanged.
    """

    def __init__(
        self,
        insert_after: str = "layer1",
        rates: Sequence[int] = DEFAULT_RATES,
        branch_channels: int | None = None,
    ) -> None:
        super().__init__()
        if insert_after not in STAGE_CHANNELS:
            allowed = ", ".join(STAGE_CHANNELS)
            raise ModelError(f"insert_after={insert_after!r} is not a ResNet50 stage; allowed: {allowed}")
        rates = check_rates(rates)
        from torchvision.models import resnet50

        base = resnet50(weights=None, num_classes=1)
        self.conv1, self.bn1, self.relu, self.maxpool = base.conv1, base.bn1, base.relu, base.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = base.layer1, base.layer2, base.layer3, base.layer4
        self.avgpool, self.fc = base.avgpool, base.fc
        self.insert_after = insert_after
        self.aspp = ASPP(STAGE_CHANNELS[insert_after], rates=rates, branch_channels=branch_channels)

    def _maybe_aspp(self, x: torch.Tensor, stage: str) -> torch.Tensor:
        if stage == self.insert_after:
            out: torch.Tensor = self.aspp(x)
            return out
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._maybe_aspp(self.relu(self.bn1(self.conv1(x))), "conv1")
        x = self._maybe_aspp(self.layer1(self.maxpool(x)), "layer1")
        x = self._maybe_aspp(self.layer2(x), "layer2")
        x = self._maybe_aspp(self.layer3(x), "layer3")
        x = self._maybe_aspp(self.layer4(x), "layer4")
        out: torch.Tensor = self.fc(torch.flatten(self.avgpool(x), 1)).squeeze(1)
        return out
