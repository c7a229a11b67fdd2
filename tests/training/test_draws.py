"""``data.sampler: draws``: batch composition, background crops, settings, exact repeats and resumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from geowarn.cli import main
from geowarn.errors import ConfigError
from geowarn.models.preprocess import model_input
from geowarn.models.registry import get_spec
from geowarn.training.checkpoint import read_checkpoint
from geowarn.training.config import BackgroundConfig, ScheduleConfig, load_train_config
from geowarn.training.draws import DrawSampler, cut_backgrounds, model_batch
from geowarn.training.loop import make_scheduler
from tests.training.test_train_loop import FAST, make_pairs

SMALL_UNET = "model.options={base_channels: 4, depth: 2}"


def make_data_folder(root: Path, n: int = 4, side: int = 40, seed: int = 3) -> Path:
    """A data folder in geowarn's layout holding only crack-free brick walls (no GeoTIFFs)."""
    rng = np.random.default_rng(seed)
    walls = root / "crack-cls" / "brickwork" / "no_crack"
    walls.mkdir(parents=True)
    for i in range(n):
        image = np.clip(120 + rng.normal(0, 15, (side, side, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(walls / f"{i:03d}.jpg")
    return root


def draws_args(pairs: Path, data: Path, out: Path, *extra: str) -> list[str]:
    """A tiny draws run: 2 epochs of 3 batches of 4 (1 crack-free crop each)."""
    sets = [
        "data.train_split=null",
        "data.sampler=draws",
        "data.background_per_batch=1",
        f"data.backgrounds={{data: {data}, size: 32, per_image: 2, per_large_image: 0, synthetic: 1}}",
        "train.steps_per_epoch=3",
        "augment.crop=32",
        SMALL_UNET,
        "schedule.name=onecycle",
        "schedule.min_lr_ratio=0",
        "schedule.cycle_momentum=true",
    ]
    args = ["train", "segment", "--model", "unet-s", "--data", str(pairs), "--out", str(out), "--epochs", "2"]
    args += ["--batch-size", "4", "--optimizer", "adamw"]
    for item in sets:
        args += ["--set", item]
    return [*args, *FAST, *extra]


def test_draw_sampler_fills_each_batch_with_pairs_then_crops() -> None:
    batches = list(DrawSampler(np.random.default_rng(1), n_pairs=10, n_crops=3, batch=6, crops_per_batch=2, steps=50))
    assert len(batches) == 50
    for batch in batches:
        assert len(batch) == 6
        assert all(0 <= i < 10 for i in batch[:4]) and all(10 <= i < 13 for i in batch[4:])
    drawn = {i for b in batches for i in b}
    assert drawn == set(range(13))  # with replacement, every item comes up over 300 draws
    again = list(DrawSampler(np.random.default_rng(1), 10, 3, 6, 2, 50))
    assert again == batches


def test_cut_backgrounds_from_the_data_folder(tmp_path: Path) -> None:
    data = make_data_folder(tmp_path / "data", n=5)
    cfg = BackgroundConfig(data=data, size=32, per_image=3, per_large_image=50, synthetic=2)
    crops = cut_backgrounds(cfg, np.random.default_rng(0))
    assert len(crops) == 4 * 3 + 2  # the first 80 % of the walls (4), none large; 2 synthetic terrain crops
    assert all(c.shape == (32, 32, 3) and c.dtype == np.uint8 for c in crops)
    again = cut_backgrounds(cfg, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(crops, again, strict=True))
    too_big = BackgroundConfig(data=data, size=64, per_image=3, per_large_image=0, synthetic=0)
    with pytest.raises(ConfigError, match=r"data\.backgrounds\.data=.*no crack-free crop of 64 px"):
        cut_backgrounds(too_big, np.random.default_rng(0))


def test_model_batch_prepares_crops_as_inference_does() -> None:
    spec = get_spec("unet-s")
    crops = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    x = model_batch(crops, spec, torch.device("cpu"))
    expected = model_input(crops.permute(0, 2, 3, 1).numpy(), spec)
    assert torch.equal(x, expected) and x.is_contiguous(memory_format=torch.channels_last)


def test_cycle_momentum_follows_the_published_one_cycle() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=0.01)
    sched = make_scheduler(opt, ScheduleConfig(name="onecycle", onecycle_pct=0.1, cycle_momentum=True), 100, 10)
    seen: list[tuple[float, float]] = []
    for _ in range(100):
        seen.append((opt.param_groups[0]["lr"], opt.param_groups[0]["betas"][0]))
        opt.step()
        sched.step()
    assert seen[0] == pytest.approx((0.01 / 25, 0.95))
    peak = max(range(100), key=lambda i: seen[i][0])
    assert 8 <= peak <= 10 and seen[peak] == pytest.approx((0.01, 0.85), rel=1e-3)
    assert seen[-1][0] < 1e-6 and seen[-1][1] == pytest.approx(0.95, abs=1e-4)


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["data.sampler=draws"], "draws is for segmenters"),
        (["train.steps_per_epoch=5"], "are for data.sampler draws"),
        (["data.sampler=draws", "data.background_per_batch=2"], "needs data.backgrounds"),
        (["data.sampler=draws", "data.background_per_batch=32"], "leaves no crack image in batches of 32"),
        (["schedule.name=cosine", "schedule.cycle_momentum=true"], "set schedule.name onecycle"),
        (["data.backgrounds={data: x, sizes: 4}"], r"data\.backgrounds\.sizes.*keys allowed here: data, size"),
    ],
)
def test_draws_settings_are_checked(sets: list[str], message: str) -> None:
    task = "classify" if sets == ["data.sampler=draws"] else "segment"
    model = "tilecls-s" if task == "classify" else "unet-s"
    with pytest.raises(ConfigError, match=message):
        load_train_config(task, None, flags={"model": model}, sets=sets)


def _weights(path: Path) -> dict[str, Any]:
    return dict(read_checkpoint(path)["state_dict"])


@pytest.mark.slow
def test_draws_run_repeats_and_resumes_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = make_pairs(tmp_path / "pairs")
    data = make_data_folder(tmp_path / "data")
    assert main(draws_args(pairs, data, tmp_path / "full", "--set", "train.save_every=1")) == 0
    full = read_checkpoint(tmp_path / "full" / "last.pt")
    assert full["epoch"] == 2 and full["draws_rng"]["bit_generator"] == "PCG64"
    assert full["optimizer"]["param_groups"][0]["betas"][0] != 0.9  # momentum cycled
    first = _weights(tmp_path / "full" / "last.pt")
    assert main(draws_args(pairs, data, tmp_path / "again")) == 0
    assert all(torch.equal(v, first[k]) for k, v in _weights(tmp_path / "again" / "last.pt").items())
    snapshot = str(tmp_path / "full" / "epoch-001.pt")
    capsys.readouterr()
    assert main(["train", "segment", "--resume", snapshot, "--out", str(tmp_path / "resumed"), *FAST]) == 0
    assert "epochs 2-2" in capsys.readouterr().out
    assert all(torch.equal(v, first[k]) for k, v in _weights(tmp_path / "resumed" / "last.pt").items())
    longer = ["train", "segment", "--resume", snapshot, "--out", str(tmp_path / "longer"), "--epochs", "3", *FAST]
    assert main(longer) == 2
    assert "cannot be stretched" in capsys.readouterr().err
    shuffled = ["train", "segment", "--model", "unet-s", "--data", str(pairs), "--out", str(tmp_path / "shuffled")]
    shuffled += ["--epochs", "1", "--batch-size", "4", "--set", "data.train_split=null", "--set", "augment.crop=32"]
    assert main([*shuffled, "--set", SMALL_UNET, *FAST]) == 0
    as_draws = ["train", "segment", "--resume", str(tmp_path / "shuffled" / "last.pt"), "--epochs", "2"]
    assert main([*as_draws, "--set", "data.sampler=draws", *FAST]) == 2
    assert "saved without data.sampler draws" in capsys.readouterr().err
    assert main(draws_args(pairs, data, tmp_path / "other-seed", "--seed", "1")) == 0
    other = _weights(tmp_path / "other-seed" / "last.pt")
    assert any(not torch.equal(v, first[k]) for k, v in other.items() if v.is_floating_point())
