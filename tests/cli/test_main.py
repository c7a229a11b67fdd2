from __future__ import annotations

import argparse
import json
import logging

import pytest

from geowarn.cli import build_parser, main
from geowarn.logs import JsonFormatter, LogfmtFormatter


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["detect"],
        ["demo"],
        ["models"],
        ["eval", "defaults"],
        ["site", "add"],
        ["survey", "add"],
        ["monitor"],
        ["alerts", "ack"],
        ["outbox", "flush"],
        ["scenario", "run"],
    ],
)
def test_help_exits_cleanly(command: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*command, "--help"])
    assert exc.value.code == 0
    assert "usage: geowarn" in capsys.readouterr().out


def test_models_lists_registry_as_json(capsys) -> None:
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"unet-s", "tilecls-s"}


def test_models_table_aligns_long_names(capsys) -> None:
    from geowarn.models.registry import list_models

    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [spec.name for spec in list_models()]
    assert len(lines) == len(names) and max(map(len, names)) > 12  # the zoo has names longer than 12
    width = max(map(len, names))
    for name, line in zip(names, lines, strict=True):
        assert line.startswith(name.ljust(width) + " ")
    assert len({line.index(" weights=") for line in lines}) == 1  # the weights column starts at one place


def test_invalid_config_value_is_a_usage_error(tmp_path, capsys, make_geotiff) -> None:
    ortho = make_geotiff()
    assert main(["detect", str(ortho), "--out", str(tmp_path / "o"), "--prob-threshold", "2", "-q"]) == 2
    assert "key 'prob_threshold': value 2.0:" in capsys.readouterr().err


def _record(**fields: object) -> logging.LogRecord:
    record = logging.LogRecord("geowarn.detect", logging.INFO, __file__, 1, "progress", (), None)
    record.__dict__.update(fields)
    return record


def test_logfmt_lines_are_parseable() -> None:
    line = LogfmtFormatter().format(_record(tiles_done=10, note="two words"))
    pairs = dict(token.split("=", 1) for token in line.replace('"two words"', "two_words").split(" "))
    assert pairs["level"] == "info" and pairs["msg"] == "progress" and pairs["tiles_done"] == "10"


def test_json_lines_are_parseable() -> None:
    data = json.loads(JsonFormatter().format(_record(tiles_done=10)))
    assert data["tiles_done"] == 10 and data["logger"] == "geowarn.detect"


COMMANDS = ("detect", "demo", "models", "eval", "export", "site", "survey", "monitor", "alerts", "outbox")
COMMANDS += ("scenario", "train", "patches", "defaults-data")


def test_help_lists_every_command_each_handled_in_the_cli_package(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    assert all(f"    {command}" in listed for command in COMMANDS)
    parser = build_parser()
    handlers = []
    stack = [parser]
    while stack:
        p = stack.pop()
        if p.get_default("func") is not None:
            handlers.append(p.get_default("func"))
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
    assert len(handlers) >= 22 and all(f.__module__.startswith("geowarn.cli.") for f in handlers)
