"""The shipped models' recipe end to end on a tiny real subset: data folders, train, ship, load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from geowarn.cli import main
from geowarn.errors import OutputError
from geowarn.models.weights import load_weights, manifest_entry
from geowarn.training.defaults_data import DefaultsDataOptions, write_defaults_data
from geowarn.training.ship import main as ship_main

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
CONFIGS = Path(__file__).resolve().parents[2] / "config" / "train"
QUIET = ["--no-progress", "-q"]


@pytest.fixture(scope="module")
def tiny_data(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few real pairs per split (copied) plus two real background rasters."""
    root = tmp_path_factory.mktemp("data")
    for source, split in (("gaps384", "train"), ("gaps384", "val"), ("crackforest", "train")):
        for kind in ("images", "masks"):
            (root / "crack-seg" / source / split / kind).mkdir(parents=True)
        images = sorted((shared_data / "crack-seg" / source / split / "images").iterdir())[:6]
        for image in images:
            shutil.copy(image, root / "crack-seg" / source / split / "images" / image.name)
            mask = shared_data / "crack-seg" / source / split / "masks" / (image.stem + ".png")
            shutil.copy(mask, root / "crack-seg" / source / split / "masks" / mask.name)
    (root / "geotiff").mkdir()
    for name in ("OSBS_029.tif", "test_tiled.tif"):
        (root / "geotiff" / name).symlink_to(shared_data / "geotiff" / name)
    (root / "natural" / "no-crack").mkdir(parents=True)
    for frame in sorted((shared_data / "natural" / "no-crack").glob("*.jpg"))[:10]:  # 5 frames: 3 train, 1 val, 1 test
        (root / "natural" / "no-crack" / frame.name).symlink_to(frame)
    return root


@pytest.fixture(scope="module")
def defaults_data(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("defaults") / "defaults-data"
    opts = DefaultsDataOptions(
        segment_backgrounds=8,
        segment_synthetic=4,
        gate_synthetic=6,
        natural_negatives=6,
        natural_transplants=5,
        natural_val_negatives=3,
        natural_val_transplants=3,
        gate_natural=10,
    )
    write_defaults_data(tiny_data, out, opts)
    return out


def test_defaults_data_folders(tiny_data: Path, defaults_data: Path) -> None:
    counts = json.loads((defaults_data / "defaults-data.json").read_text())["counts"]
    assert counts["segment_background"] == 8
    assert len(list((defaults_data / "segment-background/train/masks").glob("*.png"))) == 8
    val_backgrounds = list((defaults_data / "segment-background/val/masks").glob("*.png"))
    assert len(val_backgrounds) == counts["segment_background_val"] > 0
    for split in ("train", "val"):
        for label in ("crack", "no_crack"):
            assert len(list((defaults_data / "gate" / split / label).glob("*.png"))) == counts[f"gate_{split}_{label}"]
    assert counts["gate_train_crack"] > 0 and counts["gate_val_crack"] > 0
    assert counts["gate_train_no_crack"] >= 6  # the synthetic terrain crops at least
    assert (counts["natural_train_negatives"], counts["natural_train_transplants"]) == (6, 5)
    assert (counts["natural_val_negatives"], counts["natural_val_transplants"]) == (3, 3)
    for kind, n in (("negatives", 6), ("transplants", 5)):
        masks = sorted((defaults_data / "natural-ground" / kind / "train" / "masks").glob("*.png"))
        assert len(masks) == n
    with pytest.raises(OutputError, match="--force"):
        write_defaults_data(tiny_data, defaults_data, DefaultsDataOptions())


def ship_both(out_seg: Path, out_gate: Path, models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ship both runs' best checkpoints into a fresh models folder (GEOWARN_MODELS_DIR)."""
    models.mkdir()
    monkeypatch.setenv("GEOWARN_MODELS_DIR", str(models))
    ship_main(["--checkpoint", str(out_seg / "best.pt"), "--name", "unet-s"])
    ship_main(["--checkpoint", str(out_gate / "best.pt"), "--name", "tilecls-s"])


def test_shipped_recipe_trains_and_ships(
    tiny_data: Path, defaults_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """config/train/unet-s.yaml, unet-s-epochs.yaml and tilecls-s.yaml, pointed at the tiny copy, train and ship."""
    seg = tiny_data / "crack-seg"
    out_seg, out_gate = tmp_path / "unet-s", tmp_path / "tilecls-s"
    segment = ["train", "segment", "--config", str(CONFIGS / "unet-s.yaml"), "--out", str(out_seg)]
    segment += ["--set", f"data.roots=[{seg}]", "--set", f"data.val_roots=[{seg / 'gaps384'}]"]
    segment += ["--set", f"data.backgrounds.data={tiny_data}", "--set", "data.backgrounds.synthetic=4"]
    segment += ["--set", "train.steps_per_epoch=2", "--epochs", "1", "--batch-size", "4"]
    assert main([*segment, *QUIET]) == 0
    epochs = ["train", "segment", "--config", str(CONFIGS / "unet-s-epochs.yaml"), "--out", str(tmp_path / "ep")]
    epochs += ["--set", f"data.roots=[{seg}, {defaults_data / 'segment-background'}]"]
    val_roots = f"[{seg / 'gaps384'}, {defaults_data / 'segment-background'}]"
    epochs += ["--set", f"data.val_roots={val_roots}", "--epochs", "1", "--batch-size", "4"]
    assert main([*epochs, *QUIET]) == 0
    gate = ["train", "classify", "--config", str(CONFIGS / "tilecls-s.yaml"), "--out", str(out_gate)]
    gate += ["--data", str(defaults_data / "gate"), "--epochs", "1", "--set", "data.limit=40"]
    assert main([*gate, *QUIET]) == 0

    ship_both(out_seg, out_gate, tmp_path / "models", monkeypatch)
    for name, task in (("unet-s", "segment"), ("tilecls-s", "classify")):
        entry = manifest_entry(name)
        assert entry is not None and entry["task"] == task and 0.0 < entry["threshold"] < 1.0
        assert entry["training"]["command"] == f"geowarn train {task} --config config/train/{name}.yaml"
        assert entry["training"]["epoch"] == entry["training"]["epochs_to_checkpoint"] == 1
        model, sha = load_weights(name)
        assert sha == entry["sha256"] and not model.training
    gate_record = manifest_entry("tilecls-s")
    assert gate_record is not None and "val_R_at_threshold" in gate_record["training"]["validation"]
    with pytest.raises(SystemExit, match="holds a 'unet-s' model"):
        ship_main(["--checkpoint", str(out_seg / "best.pt"), "--name", "tilecls-s"])


def test_natural_fine_tunes_train_and_ship(
    tiny_data: Path, defaults_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """unet-s-natural.yaml and tilecls-s-natural.yaml start from the shipped weights and ship under their names."""
    seg, natural = tiny_data / "crack-seg", defaults_data / "natural-ground"
    out_seg, out_gate = tmp_path / "unet-s-natural", tmp_path / "tilecls-s-natural"
    segment = ["train", "segment", "--config", str(CONFIGS / "unet-s-natural.yaml"), "--out", str(out_seg)]
    segment += ["--set", f"data.roots=[{seg}, {natural}]", "--set", f"data.val_roots=[{seg / 'gaps384'}, {natural}]"]
    segment += ["--set", f"data.backgrounds.data={tiny_data}", "--set", "data.backgrounds.synthetic=4"]
    segment += ["--set", "train.steps_per_epoch=2", "--epochs", "1", "--batch-size", "4"]
    segment += ["--set", "transfer.init_from=unet-s"]  # the committed config starts from runs/base/unet-s.pt
    assert main([*segment, *QUIET]) == 0
    gate = ["train", "classify", "--config", str(CONFIGS / "tilecls-s-natural.yaml"), "--out", str(out_gate)]
    gate += ["--data", str(defaults_data / "gate"), "--epochs", "1", "--set", "data.limit=40"]
    gate += ["--set", "transfer.init_from=tilecls-s"]
    assert main([*gate, *QUIET]) == 0

    ship_both(out_seg, out_gate, tmp_path / "models", monkeypatch)
    for name, task in (("unet-s", "segment"), ("tilecls-s", "classify")):
        entry = manifest_entry(name)
        assert entry is not None
        assert entry["training"]["command"] == f"geowarn train {task} --config config/train/{name}-natural.yaml"
        assert "natural/no-crack train frames" in entry["training_data"]["train"]
