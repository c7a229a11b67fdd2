from __future__ import annotations

import argparse
import json
import logging

import pytest

from geowarn.cli import build_parser, main
from geowarn.logs import JsonFormatter, LogfmtFormatter
from tests.hardening import tally


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
        ["survey", "retry"],
        ["survey", "replace"],
        ["survey", "remove"],
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


def _one_line_error(err: str) -> bool:
    lines = [line for line in err.splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("geowarn: ")


@pytest.mark.parametrize("how", ["--db", "GEOWARN_DB"])
def test_a_database_password_is_never_printed(tmp_path, capsys, monkeypatch, how: str) -> None:
    url = "postgresql://geo:PW-31415@db.example:5432/geowarn"
    args = ["site", "list", "--home", str(tmp_path)]
    if how == "--db":
        args += ["--db", url]
    else:
        monkeypatch.setenv("GEOWARN_DB", url)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "PW-31415" not in err and "geo:***@db.example" in err and _one_line_error(err)
    tally("secrets", clean=True)


def test_an_alert_id_out_of_range_is_a_usage_error(tmp_path, capsys) -> None:
    from geowarn.alerts.admin import ack_alert
    from geowarn.errors import ConfigError
    from geowarn.workspace import open_workspace

    with pytest.raises(SystemExit) as exc:
        main(["alerts", "ack", "99999999999999999999999", "--by", "me", "--home", str(tmp_path)])
    assert exc.value.code == 2 and "not an id" in capsys.readouterr().err
    ws = open_workspace(tmp_path)
    with pytest.raises(ConfigError, match="alert id 99999999999999999999999: not an id"):
        ack_alert(ws.store, 99999999999999999999999, "me")
    assert main(["alerts", "ack", "7", "--by", "me\nroot", "--home", str(tmp_path)]) == 2
    assert "--by 'me\\nroot': holds the control character" in capsys.readouterr().err
    tally("bad inputs", clean=True)


def test_a_folder_given_as_weights_is_a_usage_error(tmp_path, capsys, make_geotiff) -> None:
    ortho = make_geotiff()
    assert main(["detect", str(ortho), "--out", str(tmp_path / "o"), "--classifier-weights", str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err
    assert "is a folder; pass the weights file" in err and _one_line_error(err)
    tally("bad inputs", clean=True)


def test_an_unexpected_error_is_one_masked_line(monkeypatch, capsys) -> None:
    import geowarn.cli.models as models_cli

    def boom(args: argparse.Namespace) -> int:
        raise RuntimeError("lost connection to postgresql://geo:PW-27182@db/geowarn")

    monkeypatch.setattr(models_cli, "cmd_models", boom)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert _one_line_error(err) and "internal error: RuntimeError" in err and "PW-27182" not in err
    monkeypatch.setenv("GEOWARN_DEBUG", "1")
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "PW-27182" not in err


@pytest.mark.slow
def test_sigterm_during_detect_leaves_no_staging_folder(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    import numpy as np

    from tests.conftest import soil_rgb, write_geotiff

    ortho = write_geotiff(tmp_path / "big.tif", np.ascontiguousarray(np.tile(soil_rgb(512, 512), (1, 6, 6))))
    out = tmp_path / "out"
    code = "import sys; from geowarn.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "detect", str(ortho), "--out", str(out), "--classifier", "none", "-q"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(out.glob(".geowarn-staging-*")):
        time.sleep(0.05)
    assert list(out.glob(".geowarn-staging-*")), "detect never started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err
    assert not list(out.iterdir())
    tally("crash trials", clean=True)


def test_a_huge_sparse_raster_is_refused_by_detect_and_survey_add(tmp_path, capsys, monkeypatch) -> None:
    from tests.io.test_raster import _sparse

    monkeypatch.delenv("GEOWARN_MAX_PIXELS", raising=False)
    huge = _sparse(tmp_path / "huge.tif", 200_000)
    home = ["--home", str(tmp_path / "home")]
    assert main(["detect", str(huge), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "over the limit of 4 gigapixels" in err and _one_line_error(err)
    assert main(["site", "add", "slope-h", *home]) == 0
    assert main(["survey", "add", "slope-h", str(huge), "--date", "2026-05-01", *home]) == 2
    err = capsys.readouterr().err
    assert "over the limit of 4 gigapixels" in err and _one_line_error(err)
    tally("bad inputs", clean=True)
