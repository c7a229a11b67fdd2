"""Transfer learning: start from pretrained weights, then fine-tune all or only the head.

Strategies: ``finetune`` trains every parameter; ``freeze-backbone`` trains only the parameters
whose names start with the spec's ``head_prefixes`` and keeps the frozen backbone's batch-norm
layers in eval mode; ``merge`` trains every parameter on the target train set merged with the
larger source sets (``data.merge_with``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from geowarn.errors import ConfigError, ModelError
from geowarn.models.registry import ModelSpec, get_spec
from geowarn.training.checkpoint import FORMAT


@dataclass
class InitReport:
    """What :func:`init_from` loaded and skipped (name -> reason)."""

    source: str
    loaded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: counts and the first skipped tensors with reasons."""
        text = f"init from {self.source}: loaded {len(self.loaded)} tensors, skipped {len(self.skipped)}"
        if self.skipped:
            text += " (" + "; ".join(f"{k}: {v}" for k, v in list(self.skipped.items())[:5]) + ")"
        return text


def source_state(ref: str) -> dict[str, torch.Tensor]:
    """Weights of a training checkpoint, a plain weights file, or a registry name with shipped weights."""
    path = Path(ref)
    if not path.exists():
        try:
            get_spec(ref)
        except ModelError:
            raise ConfigError(
                f"transfer.init_from={ref!r}: no such checkpoint file or registered model; "
                "pass a last.pt/best.pt path or a model name with shipped weights"
            ) from None
        from geowarn.models.weights import resolve_weights

        path = resolve_weights(ref)[0]
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"transfer.init_from={ref!r}: cannot read {path} as PyTorch weights ({exc})") from exc
    if isinstance(data, dict) and (data.get("format") == FORMAT or isinstance(data.get("state_dict"), dict)):
        data = data["state_dict"]
    if not isinstance(data, dict):
        raise ConfigError(f"transfer.init_from={ref!r}: {path} holds no state dict")
    return {k: v for k, v in data.items() if isinstance(v, torch.Tensor)}


def init_from(model: nn.Module, spec: ModelSpec, ref: str) -> InitReport:
    """Copy every shape-compatible tensor of ``ref`` into ``model``; report the rest.

    Refused when no tensor outside the head fits: the backbone is what transfers.
    """
    source = source_state(ref)
    report = InitReport(ref)
    target = model.state_dict()
    update: dict[str, torch.Tensor] = {}
    for name, tensor in target.items():
        if name not in source:
            report.skipped[name] = "not in source"
        elif source[name].shape != tensor.shape:
            report.skipped[name] = f"shape {tuple(source[name].shape)} vs {tuple(tensor.shape)}"
        else:
            update[name] = source[name]
    if not any(not is_head(name, spec) for name in update):
        raise ConfigError(
            f"transfer.init_from={ref!r}: no backbone tensor fits model {spec.name!r} (different architecture?); "
            "use a checkpoint of the same model family"
        )
    model.load_state_dict(update, strict=False)
    report.loaded = sorted(update)
    return report


def is_head(name: str, spec: ModelSpec) -> bool:
    """Whether parameter or module ``name`` belongs to the spec's head."""
    return any(name.startswith(prefix) for prefix in spec.head_prefixes)


def apply_strategy(model: nn.Module, spec: ModelSpec, strategy: str) -> list[nn.Parameter]:
    """Set ``requires_grad`` for ``strategy``; returns the parameters to optimise."""
    frozen = strategy == "freeze-backbone"
    for name, param in model.named_parameters():
        param.requires_grad_(not frozen or is_head(name, spec))
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ConfigError(
            f"model {spec.name!r} has no parameters under its head prefixes {list(spec.head_prefixes)}; "
            "use transfer.strategy finetune"
        )
    return trainable


def set_train_mode(model: nn.Module, spec: ModelSpec, strategy: str) -> None:
    """``model.train()``, keeping the frozen backbone's batch-norm statistics fixed."""
    model.train()
    if strategy != "freeze-backbone":
        return
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not is_head(name, spec):
            module.eval()
