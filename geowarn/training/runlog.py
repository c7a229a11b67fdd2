"""Per-epoch records of a training run: metrics.csv, metrics.json, curves.png and the summary."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from geowarn.provenance import write_json_atomic


def write_metrics(out: Path, history: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    """``metrics.csv`` (one row per epoch) and ``metrics.json`` (history plus ``extra``)."""
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    with (out / "metrics.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        for row in history:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    write_json_atomic(out / "metrics.json", {**extra, "history": history})


def plot_curves(path: Path, history: list[dict[str, Any]], monitor: str) -> None:
    """Loss (train and validation) and the monitored metric against the epoch, as a PNG."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in history]
    fig = Figure(figsize=(10, 4), layout="constrained")
    loss_ax, metric_ax = fig.subplots(1, 2)
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        points = [(e, row[key]) for e, row in zip(epochs, history, strict=True) if row.get(key) is not None]
        if points:
            loss_ax.plot(*zip(*points, strict=True), marker="o", label=label)
    loss_ax.set(xlabel="epoch", ylabel="loss", title="loss")
    loss_ax.legend()
    points = [(e, row[monitor]) for e, row in zip(epochs, history, strict=True) if row.get(monitor) is not None]
    if points:
        metric_ax.plot(*zip(*points, strict=True), marker="o", color="tab:green")
    metric_ax.set(xlabel="epoch", ylabel=monitor, title=f"validation: {monitor}")
    for ax in (loss_ax, metric_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.savefig(path, dpi=80)


def format_summary(summary: dict[str, Any]) -> str:
    """The lines ``geowarn train`` prints when it finishes."""
    best = summary["best_value"]
    best_text = "none" if best is None else f"{best:.4f}"
    lines = [
        f"trained {summary['model']} ({summary['task']}): epochs {summary['first_epoch']}-{summary['last_epoch']}"
        + (" (stopped early)" if summary["stopped_early"] else ""),
        f"  data: {summary['train_size']} train ({summary['merged_size']} merged), {summary['val_size']} validation",
        f"  best epoch: {summary['best_epoch']}  {summary['monitor']}={best_text}"
        f"  threshold={summary['threshold']:.2f}",
        f"  checkpoints: {summary['best_checkpoint']} (best), {summary['last_checkpoint']} (last)",
        f"  metrics: {summary['out']}/metrics.csv, metrics.json, curves.png, splits.json, train.log",
        f"  wall time: {summary['wall_seconds']:.1f} s ({summary['seconds_per_epoch']:.2f} s/epoch)",
    ]
    return "\n".join(lines)
