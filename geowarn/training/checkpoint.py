"""Training checkpoints: one ``torch.save`` dict with the weights and everything to resume.

Keys: ``format`` (``geowarn-checkpoint/1``), ``model`` (registry name), ``options`` (builder
options), ``task``, ``state_dict``, ``threshold`` (decision threshold picked on validation),
``epoch``, ``optimizer``, ``scheduler``, ``scaler``, ``config`` (the run's settings),
``history`` (per-epoch metrics) and ``rng`` (torch, numpy and Python generator states).
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from geowarn.errors import ModelError

FORMAT = "geowarn-checkpoint/1"
#: Keys left out of the metadata returned by :func:`model_from_checkpoint`.
_STATE_KEYS = ("state_dict", "optimizer", "scheduler", "scaler", "rng")


def save_checkpoint(path: Path, **fields: Any) -> Path:
    """Write a checkpoint atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **fields}, tmp)
    os.replace(tmp, path)
    return path


def read_checkpoint(path: Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint dict at ``path``; clear errors for a missing, unreadable or foreign file."""
    if not path.is_file():
        raise ModelError(f"checkpoint {path} not found; pass the last.pt or best.pt of a training run")
    try:
        data = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise ModelError(f"{path}: cannot be read as a PyTorch checkpoint ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ModelError(
            f"{path}: not a geowarn training checkpoint (format {found!r}, expected {FORMAT!r}); "
            "shipped weights are loaded by model name instead"
        )
    return data


def model_from_checkpoint(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    """The checkpoint's model (weights loaded, eval mode, CPU) and its metadata (no states)."""
    from geowarn.models.registry import build_model

    data = read_checkpoint(path)
    model = build_model(data["model"], **data.get("options", {}))
    try:
        model.load_state_dict(data["state_dict"])
    except RuntimeError as exc:
        raise ModelError(f"{path}: weights do not fit model {data['model']!r} ({exc})") from exc
    model.eval()
    return model, {k: v for k, v in data.items() if k not in _STATE_KEYS}


def rng_state() -> dict[str, Any]:
    """Generator states of torch (CPU and CUDA), numpy and Python's ``random``."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, gauss],
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states written by :func:`rng_state`."""
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])
