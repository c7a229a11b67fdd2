"""One reader and one error format for every settings file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from geowarn.errors import ConfigError
from geowarn.harness.scenario.schema import load_suite
from geowarn.pipeline.detect_config import load_detect_config
from geowarn.settings import read_mapping
from geowarn.training.config import load_train_config
from geowarn.workspace.site_config import load_site_config

LINE = re.compile(r"^(?P<file>[^:]+): key '(?P<key>[^']+)':(?: value (?P<value>.+?):)? (?P<problem>.+?); (?P<fix>.+)$")


def _lines(load: Callable[[Path], Any], path: Path) -> list[re.Match[str]]:
    with pytest.raises(ConfigError) as info:
        load(path)
    matches = [LINE.match(line) for line in str(info.value).splitlines()]
    assert all(matches), str(info.value)
    return [m for m in matches if m is not None]


@pytest.mark.parametrize(
    ("name", "text", "load", "key"),
    [
        ("detect.yaml", "detect:\n  tile_core: 8\n", load_detect_config, "detect.tile_core"),
        ("site.yaml", "rules:\n  tip_noise_px: -1\n", load_site_config, "rules.tip_noise_px"),
        ("channels.yaml", "channels:\n  ops: {type: webhook, url: ftp://x}\n", load_site_config, "channels.ops.url"),
        (
            "train.yaml",
            "model: {name: lenet5}\ntrain: {epochs: 0}\n",
            lambda p: load_train_config("classify", p),
            "train.epochs",
        ),
        ("suite.json", json.dumps({"seed": "x", "source": "s", "created": "now", "scenarios": []}), load_suite, "seed"),
    ],
)
def test_every_settings_file_reports_file_key_value_problem_and_fix(
    tmp_path: Path, name: str, text: str, load: Callable[[Path], Any], key: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    (line,) = _lines(load, path)
    assert line["file"] == str(path) and line["key"] == key


def test_unknown_keys_list_the_keys_allowed_there(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("rules:\n  persistence: {survey: 3}\n")
    (line,) = _lines(load_site_config, path)
    assert line["key"] == "rules.persistence.survey" and line["problem"] == "unknown key"
    assert line["fix"].endswith("keys allowed here: from_level, surveys, cracks")


def test_whole_file_problems(tmp_path: Path) -> None:
    for text, problem in (("[1, 2]", "expected a mapping"), ("a: [", "not valid YAML"), ("", None)):
        path = tmp_path / "x.yaml"
        path.write_text(text)
        if problem is None:
            assert read_mapping(path) == {}
            continue
        with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: {problem}[^\n]*; [^\n]*$"):
            read_mapping(path)
    with pytest.raises(ConfigError, match=r"cannot read it .*; check the path"):
        read_mapping(tmp_path / "missing.yaml")
    (tmp_path / "x.json").write_text('{"a": ')
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_mapping(tmp_path / "x.json")
