"""Markdown tables of models/REPORT.md from the JSON files that models/report/run.sh wrote.

    python3 models/report/tables.py runs/report                 # every table that has results
    python3 models/report/tables.py --select RUN_FOLDER...      # the run with the best validation score

``--select`` picks among training runs by their own validation split only (the monitored value
of their best epoch, ties: the lower validation loss at that epoch, then the first folder
given); test scores are never read for it.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

COLUMNS = ("accuracy", "R", "MA", "P", "FA", "F1")
Extra = Callable[[dict[str, Any]], str]


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def _options(m: dict[str, Any]) -> dict[str, Any]:
    return dict(m["config"]["model"].get("options") or {})


#: Extra columns (header -> value from metrics.json) of each experiment's table.
MODEL: dict[str, Extra] = {"model": lambda m: m["config"]["model"]["name"]}
TRANSFER: dict[str, Extra] = {
    "strategy": lambda m: m["config"]["transfer"]["strategy"] if _from_source(m) else "scratch",
    "lr": lambda m: f"{m['config']['optim']['lr']:g}",
    "batch": lambda m: str(m["config"]["train"]["batch_size"]),
    "seed": lambda m: str(m["config"]["train"]["seed"]),
}
ABLATION: dict[str, Extra] = {
    "model": lambda m: m["config"]["model"]["name"],
    "insert after": lambda m: str(_options(m).get("insert_after", "-")),
    "rates": lambda m: ",".join(map(str, _options(m).get("rates", [2, 4, 8]))) if _options(m) else "-",
    "seed": lambda m: str(m["config"]["train"]["seed"]),
    "params (M)": lambda m: _params(Path(m["_run"]) / "best.pt"),
}
TUNING: dict[str, Extra] = {
    "model": lambda m: m["config"]["model"]["name"],
    "optimiser": lambda m: m["config"]["optim"]["name"],
    "lr": lambda m: f"{m['config']['optim']['lr']:g}",
    "weight decay": lambda m: f"{m['config']['optim']['weight_decay']:g}",
}


def _params(checkpoint: Path) -> str:
    """Millions of learnt parameters in a checkpoint (batch-norm statistics left out)."""
    if not checkpoint.exists():
        return "-"
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    skip = ("running_mean", "running_var", "num_batches_tracked")
    return f"{sum(v.numel() for k, v in state.items() if not k.endswith(skip)) / 1e6:.2f}"


def _from_source(m: dict[str, Any]) -> bool:
    t = m["config"]["transfer"]
    return bool(t.get("init_from")) or t["strategy"] == "merge"


def _metrics(run: Path) -> dict[str, Any] | None:
    path = run / "metrics.json"
    return {**json.loads(path.read_text()), "_run": str(run)} if path.exists() else None


def _run_row(run: Path, extra: dict[str, Extra], need_test: bool) -> list[str] | None:
    m, test = _metrics(run), run / "test.json"
    if m is None or (need_test and not test.exists()):
        return None
    report = next(iter(json.loads(test.read_text())["reports"].values())) if test.exists() else {}
    seconds = [h["seconds"] for h in m["history"]]
    return [
        run.name,
        *(f(m) for f in extra.values()),
        str(len(seconds)),
        f"{statistics.mean(seconds):.1f}",
        str(m["best"]["epoch"]),
        _fmt(m["best"]["value"]),
        *(_fmt(report.get(c)) for c in COLUMNS),
        str(report.get("n", "-")),
    ]


def table(folder: Path, title: str, extra: dict[str, Extra] | None = None, need_test: bool = True) -> str:
    """One row per run folder under ``folder`` (with a test.json unless ``need_test`` is False)."""
    extra = MODEL if extra is None else extra
    head = ["run", *extra, "epochs", "s/epoch", "best epoch", "val F1 (selection)", *COLUMNS, "test n"]
    runs = sorted(p for p in folder.iterdir() if p.is_dir())
    rows = [r for run in runs if (r := _run_row(run, extra, need_test))]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def select(runs: list[Path]) -> Path:
    """The run with the best monitored validation value (ties: lower val_loss at that epoch)."""

    def key(run: Path) -> tuple[float, float]:
        m = _metrics(run)
        if m is None or m["best"]["value"] is None:
            raise SystemExit(f"{run}: no finished training run (metrics.json)")
        row = next(h for h in m["history"] if h["epoch"] == m["best"]["epoch"])
        higher = m.get("monitor", "val_F1") not in ("val_loss", "train_loss", "val_MA", "val_FA")
        value = float(m["best"]["value"])
        return (-value if higher else value, float(row.get("val_loss") or 0.0))

    return min(runs, key=key)


TABLES = (
    ("cmp", "(a) model comparison", MODEL, True),
    ("src", "(b) source model (pavement and concrete patches)", MODEL, True),
    ("tl", "(b) transfer learning: every run (test only for the run selected per strategy)", TRANSFER, False),
    ("tl-seeds", "(b) run-to-run spread: the selected settings of scratch and finetune, seed 1", TRANSFER, True),
    ("abl-tune", "(c) optimiser check on the baseline's validation split", TUNING, False),
    ("abl", "(c) ASPP ablation", ABLATION, True),
)


def main() -> None:
    """Print the tables of every experiment that has results, or ``--select`` one run."""
    args = sys.argv[1:]
    if args and args[0] == "--select":
        print(select([Path(a) for a in args[1:]]))
        return
    out = Path(args[0] if args else "runs/report")
    for sub, title, extra, need_test in TABLES:
        if (out / sub).is_dir():
            print(table(out / sub, title, extra, need_test))


if __name__ == "__main__":
    main()
