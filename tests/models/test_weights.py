from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from geowarn.errors import ModelError, WeightsChecksumError
from geowarn.models.registry import build_model
from geowarn.models.weights import load_weights, models_dir, read_manifest
from geowarn.provenance import sha256_file


@pytest.fixture
def models_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    torch.manual_seed(0)
    torch.save(build_model("unet-s").state_dict(), tmp_path / "unet-s.pt")
    manifest = {
        "models": [
            {"name": "unet-s", "file": "unet-s.pt", "sha256": sha256_file(tmp_path / "unet-s.pt"), "threshold": 0.4}
        ]
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("GEOWARN_MODELS_DIR", str(tmp_path))
    return tmp_path


def test_load_checks_sha256(models_folder: Path) -> None:
    model, sha = load_weights("unet-s")
    assert sha == sha256_file(models_folder / "unet-s.pt")
    assert not model.training


def test_corrupt_weights_are_refused(models_folder: Path) -> None:
    path = models_folder / "unet-s.pt"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(WeightsChecksumError, match="does not match"):
        load_weights("unet-s")


def test_missing_weights_explain_the_fix(models_folder: Path) -> None:
    (models_folder / "unet-s.pt").unlink()
    with pytest.raises(ModelError, match="GEOWARN_MODELS_DIR"):
        load_weights("unet-s")


def test_weights_of_another_architecture(models_folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pt"
    torch.save(build_model("tilecls-s").state_dict(), other)
    with pytest.raises(ModelError, match="do not fit"):
        load_weights("unet-s", other)


def test_shipped_manifest_matches_shipped_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEOWARN_MODELS_DIR", raising=False)
    entries = read_manifest()["models"]
    assert {e["name"] for e in entries} >= {"unet-s", "tilecls-s"}
    for entry in entries:
        path = models_dir() / entry["file"]
        assert path.stat().st_size < 5 * 2**20, "shipped weights must stay small"
        assert sha256_file(path) == entry["sha256"]
        for key in ("training_data", "metrics", "threshold"):
            assert key in entry


def test_explicit_copy_of_shipped_file_is_still_checked(models_folder: Path) -> None:
    load_weights("unet-s", models_folder / "unet-s.pt")  # the shipped file itself, by path
    (models_folder / "unet-s.pt").write_bytes(b"corrupt")
    with pytest.raises(WeightsChecksumError):
        load_weights("unet-s", models_folder / "unet-s.pt")


def test_own_weights_with_the_same_file_name_load(models_folder: Path, tmp_path: Path) -> None:
    own = tmp_path / "mine" / "unet-s.pt"
    own.parent.mkdir()
    torch.save(build_model("unet-s").state_dict(), own)
    _, sha = load_weights("unet-s", own)
    assert sha == sha256_file(own)
