"""Losses on crack logits: BCE with ``pos_weight``, focal, soft Dice and Dice + BCE.

Classifier logits are (N,), segmenter logits (N, 1, H, W); targets have the same shape (0/1).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from geowarn.training.config import LossConfig

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def bce_loss(logits: torch.Tensor, target: torch.Tensor, pos_weight: float | None = None) -> torch.Tensor:
    """Binary cross-entropy; ``pos_weight`` > 1 weighs the (rarer) crack class up."""
    weight = None if pos_weight is None else torch.tensor(pos_weight, device=logits.device, dtype=logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight)


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, alpha: float | None = 0.25
) -> torch.Tensor:
    """Focal loss (Lin et al. 2017): BCE down-weighted by ``(1 - p_t) ** gamma`` for easy examples."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * target + (1 - p) * (1 - target)
    loss = bce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = loss * (alpha * target + (1 - alpha) * (1 - target))
    return loss.mean()


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice per image (smoothed by 1), averaged: keeps thin cracks from being drowned."""
    dims = tuple(range(1, logits.dim()))
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=dims)
    denom = prob.sum(dim=dims) + target.sum(dim=dims)
    return (1 - (2 * inter + 1) / (denom + 1)).mean()


def dice_bce_loss(
    logits: torch.Tensor, target: torch.Tensor, pos_weight: float | None = None, dice_weight: float = 1.0
) -> torch.Tensor:
    """BCE plus ``dice_weight`` x soft Dice."""
    return bce_loss(logits, target, pos_weight) + dice_weight * soft_dice_loss(logits, target)


def build_loss(cfg: LossConfig, name: str, pos_weight: float | None) -> LossFn:
    """The loss ``name`` with the configured parameters (``pos_weight`` already resolved)."""
    if name == "bce":
        return lambda x, y: bce_loss(x, y, pos_weight)
    if name == "focal":
        return lambda x, y: focal_loss(x, y, cfg.focal_gamma, cfg.focal_alpha)
    if name == "dice":
        return soft_dice_loss
    return lambda x, y: dice_bce_loss(x, y, pos_weight, cfg.dice_weight)
