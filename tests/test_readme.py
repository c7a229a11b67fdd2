"""The README's Python API session runs as written, on two small synthetic surveys and the shipped models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geowarn.harness.synthetic import make_orthomosaic

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_session() -> str:
    """The first python block of the README's "Python API" section."""
    section = README.read_text().split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the Python API section has no python block"
    return match.group(1)


@pytest.mark.slow
def test_the_python_api_session_of_the_readme_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("GEOWARN_HOME", raising=False)
    monkeypatch.delenv("GEOWARN_DB", raising=False)
    for day, offset in (("2026-05-01", (0.0, 0.0)), ("2026-05-08", (0.11, -0.07))):
        origin = (500000.0 + offset[0], 5200000.0 + offset[1])
        make_orthomosaic(tmp_path / f"flight-{day}.tif", 512, 512, gsd_m=0.02, origin=origin, seed=7, n_cracks=3)
    session = readme_session()
    assert len([line for line in session.splitlines() if line.strip()]) <= 11  # a ten-line notebook session
    namespace: dict[str, object] = {}
    exec(compile(session, str(README), "exec"), namespace)
    found, ws = namespace["found"], namespace["ws"]
    assert found.cracks.crs is not None and len(found.cracks) == found.n_cracks  # type: ignore[attr-defined]
    surveys = ws.surveys("north-slope")  # type: ignore[attr-defined]
    assert [s.status for s in surveys] == ["processed", "processed"]
    assert "north-slope: survey 2 (2026-05-08)" in capsys.readouterr().out
    ws.close()  # type: ignore[attr-defined]
    found.cleanup()  # type: ignore[attr-defined]
