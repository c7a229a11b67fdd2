"""Training settings: YAML validation, error messages, overrides and the example files."""

from __future__ import annotations

from pathlib import Path

import pytest

from geowarn.cli import build_parser
from geowarn.errors import ConfigError
from geowarn.settings import read_mapping
from geowarn.training.config import RunConfig, load_train_config, parse_override

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "config" / "train").glob("*.yaml"))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_unknown_key_names_file_field_and_allowed_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, "model: {name: lenet5}\noptim:\n  nam: sgd\n")
    with pytest.raises(ConfigError) as exc:
        load_train_config("classify", path)
    text = str(exc.value)
    assert f"{path}: key 'optim.nam': value 'sgd': unknown key" in text and "keys allowed here: name, lr" in text


def test_bad_value_names_field_value_and_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, "model: {name: lenet5}\ntrain: {epochs: 0, amp: turbo}\noptim: {lr: fast}\n")
    with pytest.raises(ConfigError) as exc:
        load_train_config("classify", path)
    text = str(exc.value)
    assert "key 'train.epochs': value 0:" in text and "allowed range" in text
    assert (
        "key 'train.amp': value 'turbo':" in text
        and "key 'optim.lr': value 'fast':" in text
        and "give a number" in text
    )


def test_task_model_and_strategy_consistency(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a classify model"):
        load_train_config("segment", None, flags={"model": "lenet5"})
    with pytest.raises(ConfigError, match="task is 'segment'"):
        load_train_config("classify", _write(tmp_path, "task: segment\nmodel: {name: unet-s}\n"))
    with pytest.raises(ConfigError, match=r"needs data\.merge_with"):
        load_train_config("classify", None, flags={"model": "lenet5", "strategy": "merge"})
    with pytest.raises(ConfigError, match=r"key 'model\.name': required, but missing"):
        load_train_config("classify", None)
    with pytest.raises(ConfigError, match="threshold_recall is for classifiers"):
        load_train_config("segment", None, flags={"model": "unet-s"}, sets=["train.threshold_recall=0.9"])


def test_overrides_apply_after_file_then_flags(tmp_path: Path) -> None:
    path = _write(tmp_path, "model: {name: lenet5}\noptim: {lr: 0.1}\ntrain: {epochs: 4}\n")
    cfg = load_train_config(
        "classify",
        path,
        sets=["optim.lr=0.002", "augment.scale=[0.5, 2]", "data.val_split=null", "train.epochs=9"],
        flags={"epochs": 3, "data": [tmp_path], "lr": None},
    )
    assert cfg.optim.lr == 0.002 and cfg.augment.scale == (0.5, 2.0) and cfg.data.val_split is None
    assert cfg.train.epochs == 3 and cfg.data.roots == [tmp_path]
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])
    for bad in ("noequals", "a..b=1", "=3"):
        with pytest.raises(ConfigError, match=r"KEY\.SUB=VALUE"):
            parse_override(bad)
    with pytest.raises(ConfigError, match="is a value, not a section"):
        load_train_config("classify", path, sets=["optim.lr.x=1"])


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_configs_validate(path: Path) -> None:
    cfg = load_train_config(read_mapping(path)["task"], path)
    assert cfg.model.name


def test_reference_examples_list_every_key() -> None:
    """The two complete examples document every setting (so new settings get documented)."""
    for name in ("classify-lenet5.yaml", "segment-unet.yaml"):
        data = read_mapping(Path(EXAMPLES[0].parent / name))
        assert set(data) == set(RunConfig.model_fields), name
        for section, value in data.items():
            field = RunConfig.model_fields[section]
            annotation = field.annotation
            if isinstance(value, dict) and isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                assert set(value) == set(annotation.model_fields), f"{name}: {section}"


@pytest.mark.parametrize(
    "command",
    [
        ["train", "classify"],
        ["train", "segment"],
        ["eval", "classify"],
        ["eval", "segment"],
        ["patches"],
        ["defaults-data"],
    ],
)
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*command, "--help"])
    assert exc.value.code == 0 and "usage: geowarn" in capsys.readouterr().out
