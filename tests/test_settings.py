"""One reader and one error format for every settings file."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geowarn.errors import ConfigError
from geowarn.harness.scenario.schema import load_suite
from geowarn.pipeline.detect_config import load_detect_config
from geowarn.settings import read_mapping
from geowarn.training.config import load_train_config
from geowarn.workspace.site_config import load_site_config
from tests.hardening import tally

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


BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
)


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    import time

    path = tmp_path / "site.yaml"
    path.write_text(BOMB)
    assert len(BOMB) < 800
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        load_site_config(path)
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert "aliases (*name) expand to more than" in message and len(message) < 300
    tally("bad inputs", clean=True)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("rules:\n  tip_noise_px: 2\n  tip_noise_px: 3\n", r"line 3: key 'rules.tip_noise_px' appears twice"),
        ("a: 1\na: 2\n", r"line 2: key 'a' appears twice \(first on line 1\)"),
        ("a: &a [*a]\n", r"alias refers to itself|undefined alias"),
        ("a: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
        ("a: " + "[" * 200 + "]" * 200 + "\n", "nested"),
    ],
)
def test_hostile_yaml_is_refused_on_one_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem) as info:
        read_mapping(path)
    tally("bad inputs", clean="\n" not in str(info.value))
    assert "\n" not in str(info.value)


def test_merge_keys_may_override_and_json_duplicates_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nmine:\n  <<: *b\n  y: 3\n")
    assert read_mapping(path)["mine"] == {"x": 1, "y": 3}
    doc = tmp_path / "x.json"
    doc.write_text('{"a": 1, "a": 2}')
    with pytest.raises(ConfigError, match="'a' appears twice"):
        read_mapping(doc)


def test_size_limit_and_encoding(tmp_path: Path) -> None:
    from geowarn.settings import MAX_SETTINGS_BYTES

    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * MAX_SETTINGS_BYTES + b"\n")
    with pytest.raises(ConfigError, match="too large for a settings file"):
        read_mapping(big)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: Tromsø".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        read_mapping(latin)


def test_a_secret_in_a_settings_file_is_never_echoed(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "channels:\n  mail: {type: email, host: h, from_addr: a@b.org, password: hunter2-XYZ}\n"
        "  hook: {type: webhook, url: 'https://u:pw-ABC@hooks.example/x?token=tok-123'}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_site_config(path)
    message = str(info.value)
    assert "channels.mail.password" in message
    for secret in ("hunter2-XYZ", "pw-ABC", "tok-123"):
        assert secret not in message
    tally("secrets", clean=True)


yaml_keys = st.text(string.ascii_letters + "_", min_size=1, max_size=8)
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(string.ascii_letters + " ", max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(yaml_keys, inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(yaml_keys, yaml_values, max_size=6))
def test_any_mapping_round_trips(data: dict[str, Any]) -> None:
    import yaml

    from geowarn.settings import parse_yaml

    assert parse_yaml(yaml.safe_dump(data), "x.yaml") == data


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_any_bytes_are_read_or_refused_on_one_line(data: bytes | str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.yaml"
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        try:
            result = read_mapping(path)
        except ConfigError as exc:
            tally("bad inputs", clean=str(exc).startswith(str(path)) and "\n" not in str(exc))
            assert "\n" not in str(exc)
        else:
            assert isinstance(result, dict)
