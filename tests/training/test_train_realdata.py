"""``geowarn train|eval|patches`` on small subsets of the real crack data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geowarn.cli import main

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
QUIET = ["--no-progress", "-q"]


def test_segment_train_resume_eval(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = shared_data / "crack-seg" / "crackforest"
    out = tmp_path / "unet"
    args = ["train", "segment", "--model", "unet-s", "--data", str(root), "--out", str(out), "--batch-size", "4"]
    args += ["--optimizer", "adamw", "--lr", "0.003", "--set", "data.limit=24", "--set", "augment.crop=96"]
    assert main([*args, "--epochs", "2", *QUIET]) == 0
    splits = json.loads((out / "splits.json").read_text())["counts"]
    assert splits["train"] + splits["val"] == 24 and splits["val"] >= 4
    assert main(["train", "segment", "--resume", str(out), "--epochs", "3", *QUIET]) == 0
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [r["epoch"] for r in history] == [1, 2, 3]
    capsys.readouterr()
    report = tmp_path / "eval.json"
    evaluate = ["eval", "segment", "--checkpoint", str(out / "best.pt"), "--data", str(root), "--split", "test"]
    assert main([*evaluate, "--limit", "4", "--json", str(report), "-q"]) == 0
    assert "F1@2px" in capsys.readouterr().out
    result = json.loads(report.read_text())["reports"][str(root)]
    assert result["n_images"] == 4 and 0.0 <= result["f1_tol"] <= 1.0


def test_patches_then_classify(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = shared_data / "crack-seg" / "crackforest"
    patches = tmp_path / "patches"
    args = ["patches", "--data", str(pairs), "--split", "train", "--limit", "6", "--out", str(patches)]
    args += ["--size", "64", "--max-per-class", "40", "--geotiff", str(shared_data / "geotiff" / "OSBS_029.tif")]
    assert main([*args, "--geotiff-windows", "10", "-q"]) == 0
    manifest = json.loads((patches / "patches.json").read_text())
    assert manifest["counts"]["crack"] == manifest["counts"]["no_crack"] > 10
    out = tmp_path / "lenet5"
    train = ["train", "classify", "--model", "lenet5", "--data", str(patches), "--out", str(out), "--epochs", "2"]
    assert main([*train, "--set", "data.train_split=null", "--batch-size", "16", *QUIET]) == 0
    assert (out / "best.pt").is_file()
    capsys.readouterr()
    evaluate = ["eval", "classify", "--checkpoint", str(out / "best.pt"), "--data", str(patches), "-q"]
    assert main(evaluate) == 0
    assert "lenet5" in capsys.readouterr().out
