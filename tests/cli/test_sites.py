"""``geowarn survey retry|replace|remove`` and what ``site show`` says about a failure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import update

from geowarn.cli import main
from geowarn.store.schema import Site, Survey
from geowarn.workspace import open_workspace


def test_a_failed_survey_is_shown_then_retried_replaced_and_removed(
    tmp_path: Path, capsys, make_geotiff: Callable[..., Path]
) -> None:  # type: ignore[no-untyped-def]
    home = ["--home", str(tmp_path / "home")]
    assert main(["site", "add", "slope-c", *home]) == 0
    assert main(["survey", "add", "slope-c", str(make_geotiff("a.tif")), "--date", "2026-05-01", *home]) == 0
    ws = open_workspace(tmp_path / "home")
    with ws.store.transaction() as s:
        s.execute(
            update(Survey).values(
                status="failed",
                error="file moved away",
                reg_ok=False,
                reg_detail={"ok": False, "reason": "0 of 12 patches agree"},
            )
        )
        s.execute(update(Site).values(error="slope-c.yaml: cannot read it"))
    capsys.readouterr()
    assert main(["site", "show", "slope-c", *home]) == 0
    out = capsys.readouterr().out
    assert "registration FAILED (0 of 12 patches agree)" in out
    assert "error: file moved away" in out and "error: slope-c.yaml: cannot read it" in out and "failed: 1" in out
    assert main(["site", "list", *home]) == 0
    assert "slope-c.yaml: cannot read it" in capsys.readouterr().out
    assert main(["survey", "retry", "slope-c", "1", *home]) == 0
    assert "pending again" in capsys.readouterr().out
    assert main(["survey", "replace", "slope-c", "1", str(make_geotiff("b.tif", seed=3)), *home]) == 0
    assert "now reads" in capsys.readouterr().out
    assert main(["survey", "remove", "slope-c", "1", *home]) == 0
    assert "removed" in capsys.readouterr().out
    assert main(["survey", "remove", "slope-c", "1", *home]) == 2
    assert "has no survey 1" in capsys.readouterr().err
    assert main(["survey", "add", "slope-c", str(make_geotiff("c.tif", seed=4)), "--date", "2099-01-01", *home]) == 2
    assert "survey date 2099-01-01: in the future" in capsys.readouterr().err
