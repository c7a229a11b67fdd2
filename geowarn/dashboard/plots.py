"""Charts of one crack's history as inline SVG (matplotlib): size over time, inverse velocity."""

from __future__ import annotations

import io
import math
from datetime import date
from typing import TYPE_CHECKING, Any

from matplotlib.dates import date2num
from matplotlib.figure import Figure

if TYPE_CHECKING:
    import geopandas as gpd


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight")
    text = out.getvalue()
    return text[text.index("<svg") :]


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def size_chart(history: gpd.GeoDataFrame) -> str:
    """Length and mean width over time with their 1-sigma error bars, as SVG."""
    fig = Figure(figsize=(7.5, 3.2))
    left, right = fig.subplots(1, 2)
    dates = list(history["date"])
    left.errorbar(dates, history["length_m"], yerr=history["length_unc_m"], fmt="o-", capsize=3, color="#c62828")
    left.set(title="Length (m, ±1σ)", ylabel="m")
    widths = history["mean_width_m"] * 1000
    right.errorbar(dates, widths, yerr=history["width_unc_m"] * 1000, fmt="o-", capsize=3, color="#ef6c00")
    right.set(title="Mean width (mm, ±1σ)", ylabel="mm")
    for axes in (left, right):
        axes.tick_params(axis="x", labelrotation=30, labelsize=8)
        axes.grid(alpha=0.3)
    fig.tight_layout()
    return _svg(fig)


def inverse_velocity_chart(history: gpd.GeoDataFrame) -> str | None:
    """Inverse extension rate (day/mm) against time with the latest time-of-failure window; None without rates."""
    points = [
        (d, 1.0 / r)
        for d, r in zip(history["date"], history["extension_rate_mm_day"], strict=True)
        if _finite(r) and r > 0
    ]
    if not points:
        return None
    fig = Figure(figsize=(7.5, 3.0))
    axes = fig.subplots()
    axes.plot([p[0] for p in points], [p[1] for p in points], "o-", color="#37474f", label="1 / extension rate")
    estimates = [t for t in history["time_of_failure"] if isinstance(t, dict) and t.get("when")]
    if estimates:
        last = estimates[-1]
        when = date.fromisoformat(str(last["when"]))
        low = date.fromisoformat(str(last.get("low") or last["when"]))
        high = date.fromisoformat(str(last.get("high") or last["when"]))
        axes.axvspan(
            date2num(low), date2num(high), color="#c62828", alpha=0.15, label="time-of-failure window (10-90 %)"
        )
        axes.axvline(date2num(when), color="#c62828", linestyle="--", label=f"time of failure {when.isoformat()}")
        axes.plot([points[-1][0], when], [points[-1][1], 0.0], ":", color="#c62828")
    axes.set(title="Inverse velocity (Fukuzono)", ylabel="day / mm")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    axes.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    return _svg(fig)
