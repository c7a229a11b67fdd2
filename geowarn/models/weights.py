"""Locate, verify (sha256) and load model weights listed in the weights manifest."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from geowarn.errors import ModelError, WeightsChecksumError
from geowarn.models.registry import build_model, get_spec
from geowarn.provenance import sha256_file

MANIFEST_NAME = "manifest.json"


def models_dir() -> Path:
    """Directory holding shipped weights and the manifest.

    ``GEOWARN_MODELS_DIR`` overrides the default, the ``models/`` folder of the source tree.
    """
    env = os.environ.get("GEOWARN_MODELS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "models"


def read_manifest(directory: Path | None = None) -> dict[str, Any]:
    """The weights manifest as a dict ``{"models": [...]}``; empty if there is none."""
    path = (directory or models_dir()) / MANIFEST_NAME
    if not path.exists():
        return {"models": []}
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc}); restore it from version control") from exc
    return data


def manifest_entry(name: str, directory: Path | None = None) -> dict[str, Any] | None:
    """The manifest record for model ``name``, if any."""
    for entry in read_manifest(directory).get("models", []):
        if entry.get("name") == name:
            return dict(entry)
    return None


def resolve_weights(name: str, weights: Path | None = None) -> tuple[Path, str | None]:
    """Weights path for ``name`` and its expected sha256 (None when not in the manifest)."""
    directory = models_dir()
    entry = manifest_entry(name, directory)
    if weights is None:
        file_name = (entry or {}).get("file") or get_spec(name).weights_file
        if not file_name:
            raise ModelError(f"model {name!r} ships no weights; pass a weights file explicitly")
        weights = directory / file_name
        expected = (entry or {}).get("sha256")
    else:
        shipped = directory / entry["file"] if entry else None
        # A user's own weights file has no recorded hash; the shipped file keeps its check.
        same = shipped is not None and shipped.exists() and weights.exists() and weights.samefile(shipped)
        expected = entry.get("sha256") if entry and same else None
    if weights.is_dir():
        raise ModelError(f"weights for model {name!r}: {weights} is a folder; pass the weights file (.pt) inside it")
    if not weights.exists():
        raise ModelError(
            f"weights for model {name!r} not found at {weights}; set GEOWARN_MODELS_DIR to the "
            "folder holding them or pass --weights"
        )
    return weights, expected


def load_weights(name: str, weights: Path | None = None, device: str = "cpu") -> tuple[nn.Module, str]:
    """Build model ``name``, load its weights after a sha256 check; returns (model, sha256)."""
    path, expected = resolve_weights(name, weights)
    try:
        actual = sha256_file(path)
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read ({exc.strerror or exc}); check the weights file") from None
    if expected is not None and actual != expected:
        raise WeightsChecksumError(
            f"{path}: sha256 {actual} does not match the manifest's {expected}; the file is "
            "corrupt or was replaced — restore it from the repository"
        )
    model = build_model(name)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise ModelError(f"{path}: cannot be read as PyTorch weights ({exc})") from exc
    state_dict = state.get("state_dict", state) if isinstance(state, dict) else state
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        raise ModelError(f"{path}: weights do not fit model {name!r} ({exc})") from exc
    model.eval()
    return model.to(device), actual
