"""``geowarn scenario build`` takes every option of the suite builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from geowarn.cli import build_parser, main
from geowarn.harness.scenario.build import KINDS


def test_build_options_reach_the_builder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    calls: list[dict[str, object]] = []

    def fake(data: Path, out: Path, **kwargs: object) -> list[Path]:
        calls.append({"data": data, "out": out, **kwargs})
        return [out / "stable-a"]

    monkeypatch.setattr("geowarn.harness.scenario.build.build_suite", fake)
    argv = ["scenario", "build", "--out", str(tmp_path), "--kinds", "stable", "new-crack"]
    assert main([*argv, "--source", "gaps384", "--split", "val", "--seed", "8"]) == 0
    assert calls[-1] == {
        "data": Path("../shared/data"),
        "out": tmp_path,
        "seed": 8,
        "n_per_kind": 1,
        "kinds": ["stable", "new-crack"],
        "source": "gaps384",
        "split": "val",
    }
    assert main(["scenario", "build", "--out", str(tmp_path)]) == 0
    assert "kinds" not in calls[-1] and calls[-1]["source"] == "crackforest" and calls[-1]["split"] == "test"
    assert "1 scenarios in" in capsys.readouterr().out


def test_an_unknown_kind_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert main(["scenario", "build", "--data", str(tmp_path), "--out", str(tmp_path / "s"), "--kinds", "bogus"]) == 2
    assert "unknown scenario kind" in capsys.readouterr().err


def test_help_names_every_kind(capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["scenario", "build", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(kind in text for kind in KINDS)
