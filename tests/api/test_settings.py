"""``geowarn.load_settings``: every kind of settings file through one reader."""

from __future__ import annotations

from pathlib import Path

import pytest

import geowarn

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_files_load_unchanged() -> None:
    assert geowarn.load_settings(ROOT / "config" / "detect.yaml", kind="detect").segmenter == "unet-s"
    site = geowarn.load_settings(ROOT / "config" / "site.example.yaml", kind="site")
    assert site.rules.tracking.tip_noise_px == 2.5 and site.recipients
    assert set(geowarn.load_settings(ROOT / "config" / "site.example.yaml", kind="channels").names()) == set(
        site.channels
    )
    for path in sorted((ROOT / "config" / "train").glob("*.yaml")):
        assert geowarn.load_settings(path, kind="train").model.name


def test_one_error_format(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("task: classify\nmodel: {name: lenet5}\noptim: {lr: fast}\n")
    with pytest.raises(geowarn.ConfigError, match=rf"^{path}: key 'optim\.lr': value 'fast': .*; give a number"):
        geowarn.load_settings(path, kind="train")
    path.write_text("model: {name: lenet5}\n")
    with pytest.raises(geowarn.ConfigError, match=r"key 'task'"):
        geowarn.load_settings(path, kind="train")
    with pytest.raises(geowarn.ConfigError, match="is not one of detect, site"):
        geowarn.load_settings(path, kind="nope")  # type: ignore[call-overload]
