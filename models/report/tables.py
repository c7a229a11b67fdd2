"""Markdown tables of models/REPORT.md from the JSON files that models/report/run.sh wrote.

    python3 models/report/tables.py runs/report
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

COLUMNS = ("accuracy", "R", "MA", "P", "FA", "F1")


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def _run_row(run: Path) -> list[str] | None:
    test, metrics = run / "test.json", run / "metrics.json"
    if not test.exists() or not metrics.exists():
        return None
    report = next(iter(json.loads(test.read_text())["reports"].values()))
    m = json.loads(metrics.read_text())
    seconds = [h["seconds"] for h in m["history"]]
    return [
        run.name,
        m["config"]["model"]["name"],
        str(len(seconds)),
        f"{statistics.mean(seconds):.1f}",
        _fmt(m["best"]["value"]),
        *(_fmt(report[c]) for c in COLUMNS),
        str(report["n"]),
    ]


def table(folder: Path, title: str) -> str:
    """One row per run folder under ``folder`` that has a test.json."""
    head = ["run", "model", "epochs", "s/epoch", "val F1 (selection)", *COLUMNS, "test n"]
    rows = [r for run in sorted(p for p in folder.iterdir() if p.is_dir()) if (r := _run_row(run))]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print the tables of every experiment that has results."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/report")
    for sub, title in (("cmp", "(a) model comparison"), ("tl", "(b) transfer learning"), ("abl", "(c) ASPP ablation")):
        if (out / sub).is_dir():
            print(table(out / sub, title))


if __name__ == "__main__":
    main()
