"""``geowarn train|eval|patches`` end to end on tiny seeded synthetic folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from geowarn.cli import main
from geowarn.errors import ConfigError
from geowarn.models.registry import get_spec, list_models
from geowarn.training.checkpoint import model_from_checkpoint, read_checkpoint
from geowarn.training.config import AugmentConfig, load_train_config
from geowarn.training.transforms import build_transform

CLS_MODEL = "lenet5" if any(s.name == "lenet5" for s in list_models()) else "tilecls-s"
FAST = ["--set", "train.threads=1", "--no-progress", "-q"]


def make_class_folder(root: Path, n: int = 16, size: int = 32, seed: int = 0) -> Path:
    """``n`` images, half with a dark line (crack/), half plain (no_crack/)."""
    rng = np.random.default_rng(seed)
    for label in ("crack", "no_crack"):
        (root / label).mkdir(parents=True)
        for i in range(n // 2):
            image = np.clip(150 + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
            if label == "crack":
                y = int(rng.integers(6, size - 6))
                image[y - 1 : y + 1] = 30
            Image.fromarray(image).save(root / label / f"{i:03d}.png")
    return root


def make_pairs(root: Path, n: int = 8, h: int = 40, w: int = 48, seed: int = 0) -> Path:
    """``n`` image/mask pairs with one dark vertical crack each."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        image = np.clip(150 + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
        mask = np.zeros((h, w), np.uint8)
        x = int(rng.integers(6, w - 6))
        image[:, x - 1 : x + 1] = 30
        mask[:, x - 1 : x + 1] = 255
        Image.fromarray(image).save(root / "images" / f"{i:03d}.png")
        Image.fromarray(mask).save(root / "masks" / f"{i:03d}.png")
    return root


def make_crack_free(root: Path, n: int = 3, side: int = 32, seed: int = 5) -> Path:
    """``n`` plain textured images with empty masks (crack-free ground)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        image = np.clip(150 + rng.normal(0, 12, (side, side, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(root / "images" / f"{i:03d}.png")
        Image.fromarray(np.zeros((side, side), np.uint8)).save(root / "masks" / f"{i:03d}.png")
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    return {
        "cls": make_class_folder(root / "cls"),
        "source": make_class_folder(root / "source", n=8, seed=1),
        "seg": make_pairs(root / "seg"),
    }


def train_classify(data: Path, out: Path, *extra: str, epochs: int = 2) -> tuple[int, dict[str, Any]]:
    args = ["train", "classify", "--model", CLS_MODEL, "--data", str(data), "--out", str(out)]
    args += ["--epochs", str(epochs), "--batch-size", "8", "--set", "data.train_split=null", *FAST, *extra]
    status = main(args)
    metrics = json.loads((out / "metrics.json").read_text()) if (out / "metrics.json").exists() else {}
    return status, metrics


def _rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in metrics["history"]]


@pytest.fixture(scope="module")
def base_run(folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three epochs with a constant rate, a snapshot every epoch."""
    out = tmp_path_factory.mktemp("runs") / "base"
    status, _ = train_classify(
        folders["cls"], out, "--set", "schedule.name=constant", "--set", "train.save_every=1", epochs=3
    )
    assert status == 0
    return out


def test_classify_writes_outputs_and_summary(base_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("last.pt", "best.pt", "epoch-002.pt", "metrics.csv", "metrics.json", "curves.png", "splits.json"):
        assert (base_run / name).is_file(), name
    assert (base_run / "curves.png").read_bytes()[:4] == b"\x89PNG"
    csv_lines = (base_run / "metrics.csv").read_text().splitlines()
    assert csv_lines[0].startswith("epoch,train_loss,val_loss") and len(csv_lines) == 4
    splits = json.loads((base_run / "splits.json").read_text())
    assert splits["counts"] == {"train": 12, "merged": 0, "val": 4}
    names = {r["image"] for r in splits["train"]} | {r["image"] for r in splits["val"]}
    assert len(names) == 16
    ckpt = read_checkpoint(base_run / "last.pt")
    assert ckpt["format"] == "geowarn-checkpoint/1" and ckpt["model"] == CLS_MODEL and ckpt["epoch"] == 3
    assert {"optimizer", "scheduler", "scaler", "rng", "config", "history", "threshold"} <= set(ckpt)
    model, meta = model_from_checkpoint(base_run / "best.pt")
    assert not model.training and "state_dict" not in meta and 0 < meta["threshold"] < 1
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2,)


def test_resume_continues_exactly_and_same_seed_repeats(
    folders: dict[str, Path], base_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _rows(json.loads((base_run / "metrics.json").read_text()))
    out = tmp_path / "short"
    status, first = train_classify(folders["cls"], out, "--set", "schedule.name=constant", epochs=2)
    assert status == 0 and _rows(first) == base[:2]  # same seed, same numbers
    capsys.readouterr()
    assert main(["train", "classify", "--resume", str(out / "last.pt"), "--epochs", "3", *FAST]) == 0
    assert "epochs 3-3" in capsys.readouterr().out
    resumed = _rows(json.loads((out / "metrics.json").read_text()))
    assert [r["epoch"] for r in resumed] == [1, 2, 3]
    assert resumed == base
    other = tmp_path / "from-snapshot"
    assert main(["train", "classify", "--resume", str(base_run / "epoch-002.pt"), "--out", str(other), *FAST]) == 0
    assert _rows(json.loads((other / "metrics.json").read_text())) == base


def test_early_stopping_stops(folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["--lr", "0", "--set", "train.early_stopping=1", "--set", "train.monitor=val_loss"]
    status, metrics = train_classify(folders["cls"], tmp_path / "stop", *extra, epochs=6)
    assert status == 0 and [r["epoch"] for r in metrics["history"]] == [1, 2]
    assert "stopped early" in capsys.readouterr().out


def test_init_from_loads_weights(base_run: Path, folders: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "init"
    status, _ = train_classify(folders["cls"], out, "--init-from", str(base_run / "best.pt"), "--lr", "0", epochs=1)
    assert status == 0
    source = read_checkpoint(base_run / "best.pt")["state_dict"]
    loaded = read_checkpoint(out / "last.pt")["state_dict"]
    assert all(torch.equal(source[k], loaded[k]) for k in source)
    assert "init from" in (out / "train.log").read_text()


def test_init_from_foreign_architecture_is_refused(
    base_run: Path, folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "segment", "--model", "unet-s", "--data", str(folders["seg"]), "--out", str(tmp_path / "x")]
    extra = ["--set", "data.train_split=null", "--set", "augment.crop=32", "--init-from", str(base_run / "best.pt")]
    assert main([*args, *extra, *FAST]) == 2
    assert "no backbone tensor fits" in capsys.readouterr().err


def test_freeze_backbone_trains_only_the_head(folders: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "frozen"
    args = ["train", "classify", "--model", "tilecls-s", "--data", str(folders["cls"]), "--out", str(out)]
    args += ["--init-from", "tilecls-s", "--strategy", "freeze-backbone", "--epochs", "1", "--batch-size", "8"]
    assert main([*args, "--set", "data.train_split=null", "--lr", "0.05", *FAST]) == 0
    from geowarn.training.transfer import source_state

    before, after = source_state("tilecls-s"), read_checkpoint(out / "last.pt")["state_dict"]
    head = get_spec("tilecls-s").head_prefixes
    changed = {k for k in after if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith(head) for k in changed)  # backbone weights and BN statistics fixed


def test_merge_adds_source_to_train_set(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    merge = f"data.merge_with=[{{root: {folders['source']}, split: null}}]"
    status, _ = train_classify(folders["cls"], tmp_path / "merge", "--strategy", "merge", "--set", merge, epochs=1)
    assert status == 0
    counts = json.loads((tmp_path / "merge" / "splits.json").read_text())["counts"]
    assert counts == {"train": 12, "merged": 8, "val": 4}
    assert "20 train (8 merged)" in capsys.readouterr().out


def test_joint_flip_and_crop_keep_image_and_mask_aligned() -> None:
    image = np.full((40, 48, 3), 200, np.uint8)
    mask = np.zeros((40, 48), np.uint8)
    image[:, 10:12] = 20
    mask[:, 10:12] = 1
    from geowarn.training.augment import to_tensors

    aug = AugmentConfig(hflip=1.0, vflip=0.5, crop=32, rotation=0)
    transform = build_transform(aug, get_spec("unet-s"), "segment", train=True)
    for seed in range(4):
        torch.manual_seed(seed)
        x, m = transform(*to_tensors(image, mask))
        dark = (x.mean(dim=0) < 0).numpy()
        assert m.shape == (1, 32, 32) and m.dtype == torch.uint8
        assert np.array_equal(dark, m[0].numpy().astype(bool))


def test_segment_train_and_eval_json(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "seg"
    args = ["train", "segment", "--model", "unet-s", "--data", str(folders["seg"]), "--out", str(out), "--epochs", "2"]
    args += ["--batch-size", "4", "--optimizer", "adamw", "--lr", "0.01", "--set", "data.train_split=null"]
    assert main([*args, "--set", "augment.crop=32", "--set", "model.options={base_channels: 4, depth: 2}", *FAST]) == 0
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [r["epoch"] for r in history] == [1, 2] and "val_f1_tol" in history[0]
    assert history[0]["val_background_fp_rate"] is None  # no crack-free validation images
    nothing_to_rate = ["--out", str(tmp_path / "seg-fa"), "--set", "train.monitor=val_background_fp_rate"]
    assert main([*args, *nothing_to_rate, "--set", "augment.crop=32", "--epochs", "1", *FAST]) == 2  # before training
    assert "no crack-free image" in capsys.readouterr().err
    assert not (tmp_path / "seg-fa" / "last.pt").exists()
    assert main([*args, "--set", "augment.crop=30", *FAST]) == 2  # not a multiple of 16
    assert "multiple of 16" in capsys.readouterr().err
    report = tmp_path / "eval.json"
    crack_free = make_crack_free(tmp_path / "crack-free")
    assert (
        main(
            [
                "eval",
                "segment",
                "--checkpoint",
                str(out / "best.pt"),
                "--data",
                str(folders["seg"]),
                str(crack_free),
                "--json",
                str(report),
                "-q",
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "F1@2px" in table
    data = json.loads(report.read_text())
    assert data["task"] == "segment" and data["model"] == "unet-s"
    row = data["reports"][str(folders["seg"])]
    assert row["n_images"] == 8 and 0 <= row["f1_tol"] <= 1 and row["threshold"] == data["threshold"]
    assert row["background_fp_rate"] is None
    free = data["reports"][str(crack_free)]
    assert free["background_images"] == 3 and 0 <= free["background_fp_rate"] <= 1
    assert "bg FA %" in table


def test_eval_classify_json(
    base_run: Path, folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "eval.json"
    args = [
        "eval",
        "classify",
        "--checkpoint",
        str(base_run / "best.pt"),
        "--data",
        str(folders["cls"]),
        str(folders["source"]),
    ]
    assert main([*args, "--json", str(report), "--threshold", "0.5", "-q"]) == 0
    table = capsys.readouterr().out
    assert "F1" in table and "all" in table
    data = json.loads(report.read_text())
    assert data["threshold"] == 0.5 and set(data["reports"]) == {str(folders["cls"]), str(folders["source"]), "all"}
    overall = data["reports"]["all"]
    assert overall["n"] == 24 and sum(overall["confusion"].values()) == 24
    assert (
        main(["eval", "classify", "--checkpoint", str(tmp_path / "missing.pt"), "--data", str(folders["cls"]), "-q"])
        == 2
    )


def test_patches_balanced_deterministic(folders: dict[str, Path], tmp_path: Path) -> None:
    args = ["patches", "--data", str(folders["seg"]), "--size", "16", "--stride", "8", "--min-crack-px", "4"]
    args += ["--margin", "3", "--max-per-class", "10", "--seed", "3", "-q"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "patches.json").read_text())
    b = json.loads((tmp_path / "b" / "patches.json").read_text())
    assert a["patches"] == b["patches"] and a["options"]["seed"] == 3
    assert a["counts"]["crack"] == a["counts"]["no_crack"] == 10
    assert len(list((tmp_path / "a" / "crack").glob("*.png"))) == 10
    for row in a["patches"]:
        x, y, w, h = row["window"]
        mask = np.asarray(Image.open(Path(row["source"]).parent.parent / "masks" / Path(row["source"]).name))
        window = mask[y : y + h, x : x + w]
        assert (window.sum() > 0) == (row["label"] == "crack")
    assert main([*args, "--out", str(tmp_path / "a")]) == 2  # refuses to overwrite without --force


def test_val_roots_validate_and_recall_threshold(folders: dict[str, Path], tmp_path: Path) -> None:
    """data.val_roots validate alone; train.threshold_recall keeps that share of validation cracks."""
    out = tmp_path / "recall"
    extra = ["--set", f"data.val_roots=[{folders['source']}]", "--set", "data.val_split=null"]
    status, metrics = train_classify(folders["cls"], out, *extra, "--set", "train.threshold_recall=0.75")
    assert status == 0
    counts = json.loads((out / "splits.json").read_text())["counts"]
    assert counts == {"train": 16, "merged": 0, "val": 8}
    row = metrics["history"][-1]
    assert row["val_R_at_threshold"] >= 0.75 and 0.0 <= row["val_negatives_rejected_at_threshold"] <= 1.0
    labels, probs = _val_scores(out)
    assert (probs[labels] >= read_checkpoint(out / "last.pt")["threshold"]).mean() >= 0.75


def _val_scores(run: Path) -> tuple[np.ndarray, np.ndarray]:
    from geowarn.training.folders import SampleDataset, folder_samples
    from geowarn.training.validation import classify_scores

    model, meta = model_from_checkpoint(run / "last.pt")
    cfg = AugmentConfig(**meta["config"]["augment"])
    transform = build_transform(cfg, get_spec(meta["model"]), "classify", train=False)
    data = meta["config"]["data"]
    samples = folder_samples(Path(data["val_roots"][0]), None, "classify", _data_config(data))
    labels, probs, _ = classify_scores(model, SampleDataset(samples, transform), torch.device("cpu"), 8)
    return labels, probs


def _data_config(data: dict[str, Any]) -> Any:
    from geowarn.training.config import DataConfig

    return DataConfig(**data)


def test_threshold_for_recall() -> None:
    from geowarn.training.validation import threshold_for_recall

    scores = np.linspace(0.05, 0.95, 10)
    threshold = threshold_for_recall(scores, 0.8)
    assert (scores >= threshold).mean() >= 0.8 and (scores > threshold).mean() < 0.8
    assert threshold_for_recall(np.zeros(0), 0.9) == 0.5


def test_blur_is_configurable() -> None:
    from torchvision.transforms import v2

    steps = build_transform(AugmentConfig(blur=0.3), get_spec("unet-s"), "segment", train=True).transforms
    blurs = [s for s in steps if isinstance(s, v2.RandomApply) and isinstance(s.transforms[0], v2.GaussianBlur)]
    assert len(blurs) == 1 and blurs[0].p == 0.3


def test_balanced_sampler_draws_classes_equally() -> None:
    from geowarn.training.folders import Sample, SampleDataset
    from geowarn.training.loop import balanced_sampler

    samples = [Sample(Path(f"{i}.png"), label=int(i < 10)) for i in range(100)]  # 10 crack, 90 no-crack
    sampler = balanced_sampler(SampleDataset(samples, lambda x: x), torch.Generator().manual_seed(0))
    drawn = [samples[i].label for i in sampler]
    assert len(drawn) == 100 and 35 <= sum(drawn) <= 65
    with pytest.raises(ConfigError, match="balance_classes is for classifiers"):
        load_train_config("segment", None, flags={"model": "unet-s"}, sets=["data.balance_classes=true"])


def test_ema_weights_are_kept_and_resume_exactly(folders: dict[str, Path], tmp_path: Path) -> None:
    ema = ["--set", "train.ema_decay=0.9", "--set", "schedule.name=constant"]
    status, full = train_classify(folders["cls"], tmp_path / "full", *ema, epochs=3)
    assert status == 0
    ckpt = read_checkpoint(tmp_path / "full" / "last.pt")
    raw, kept = ckpt["train_state_dict"], ckpt["state_dict"]
    assert raw.keys() == kept.keys() and ckpt["ema_n_averaged"] > 1
    floats = [k for k in raw if raw[k].is_floating_point()]
    assert any(not torch.equal(raw[k], kept[k]) for k in floats)  # the average, not the last step
    model, _ = model_from_checkpoint(tmp_path / "full" / "last.pt")
    assert all(torch.equal(v, kept[k]) for k, v in model.state_dict().items())
    status, _ = train_classify(folders["cls"], tmp_path / "short", *ema, epochs=2)
    assert status == 0
    assert main(["train", "classify", "--resume", str(tmp_path / "short" / "last.pt"), "--epochs", "3", *FAST]) == 0
    assert _rows(json.loads((tmp_path / "short" / "metrics.json").read_text())) == _rows(full)
    status, _ = train_classify(folders["cls"], tmp_path / "plain", "--set", "schedule.name=constant", epochs=1)
    assert status == 0 and "ema_n_averaged" not in read_checkpoint(tmp_path / "plain" / "last.pt")
    resume = ["train", "classify", "--resume", str(tmp_path / "plain" / "last.pt"), "--epochs", "2", *FAST]
    assert main([*resume, "--set", "train.ema_decay=0.9"]) == 2
