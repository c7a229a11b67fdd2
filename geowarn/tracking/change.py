"""One vocabulary for how a crack changed between two surveys, used by the dashboard, emails and CAP.

Every tracked crack in a survey is exactly one of:

* ``new``: first seen in this survey (nothing to compare with);
* ``extending``: its centreline reaches beyond everything mapped there before, significantly
  (the propagation that raises levels);
* ``opening``: its mean or maximum width grew significantly (and it is not extending);
* ``shrinking or partly lost``: its mapped length or width fell significantly. Cracks do not
  close between surveys at these scales: this is the segmentation seeing less of it (light,
  shadow, vegetation), never growth;
* ``stable``: no significant change; a longer detection that stays inside the crack's earlier
  footprint is re-detection, not extension, and is stable too.

"Significant" is the tracking's own test (change above ``k`` sigma of its noise floor), stored
with each growth row; for payloads stored without it the same test is redone at 2 sigma.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

Change = Literal["new", "extending", "opening", "shrinking or partly lost", "stable"]

NEW: Final = "new"
EXTENDING: Final = "extending"
OPENING: Final = "opening"
SHRINKING: Final = "shrinking or partly lost"
STABLE: Final = "stable"
#: Every class, most alarming first (the order of legends and counts).
CHANGES: tuple[Change, ...] = (EXTENDING, OPENING, NEW, SHRINKING, STABLE)
#: Classes that are growth of the crack itself.
GROWTH: frozenset[str] = frozenset({EXTENDING, OPENING})
#: Map and badge colours of each class.
CHANGE_COLOURS: dict[str, str] = {
    EXTENDING: "#c62828",
    OPENING: "#ef6c00",
    NEW: "#8e24aa",
    SHRINKING: "#1e88e5",
    STABLE: "#757575",
}
#: One line on each class, for legends and messages.
CHANGE_MEANINGS: dict[str, str] = {
    EXTENDING: "reaches significantly beyond everything mapped there before",
    OPENING: "wider, significantly",
    NEW: "first seen in this survey",
    SHRINKING: "mapped shorter or narrower: the segmentation saw less of it, not growth",
    STABLE: "no significant change",
}


def classify(
    *,
    is_new: bool,
    extension: tuple[float, bool] | None,
    widths: tuple[tuple[float, bool], ...] = (),
    length: tuple[float, bool] | None = None,
) -> Change:
    """The change class from each measured change as ``(delta, significant)``.

    Args:
        is_new: the crack has no earlier measurement.
        extension: length beyond the crack's earlier footprint (never negative).
        widths: the mean- and max-width changes.
        length: the change of mapped length.

    """
    if is_new:
        return NEW
    if extension is not None and extension[1] and extension[0] > 0:
        return EXTENDING
    if any(significant and delta > 0 for delta, significant in widths):
        return OPENING
    losses = [*widths, *([length] if length is not None else [])]
    if any(significant and delta < 0 for delta, significant in losses):
        return SHRINKING
    return STABLE


def _pair(change: Mapping[str, Any] | None) -> tuple[float, bool] | None:
    if not change:
        return None
    return float(change.get("delta_m") or 0.0), bool(change.get("significant"))


def classify_metrics(metrics: Mapping[str, Any] | None) -> Change:
    """The change class of a stored growth row's ``metrics`` (None: the crack is new)."""
    if metrics is None:
        return NEW
    widths = tuple(p for p in (_pair(metrics.get("mean_width")), _pair(metrics.get("max_width"))) if p is not None)
    return classify(
        is_new=False, extension=_pair(metrics.get("extension")), widths=widths, length=_pair(metrics.get("length"))
    )


def _significant(value: float | None, unc: float | None, k_sigma: float) -> tuple[float, bool] | None:
    if value is None:
        return None
    return value, unc is not None and abs(value) > k_sigma * unc


def classify_rates(
    *,
    extension_rate: float | None,
    extension_unc: float | None,
    opening_rate: float | None,
    opening_unc: float | None,
    delta_length: float | None,
    delta_length_unc: float | None,
    delta_width: float | None,
    delta_width_unc: float | None,
    k_sigma: float = 2.0,
) -> Change:
    """The change class redone from rates and deltas with their 1-sigma uncertainties (``k_sigma`` test)."""
    if delta_length is None and delta_width is None and extension_rate is None:
        return NEW
    widths = tuple(
        p
        for p in (
            _significant(opening_rate, opening_unc, k_sigma),
            _significant(delta_width, delta_width_unc, k_sigma),
        )
        if p is not None
    )
    return classify(
        is_new=False,
        extension=_significant(extension_rate, extension_unc, k_sigma),
        widths=widths,
        length=_significant(delta_length, delta_length_unc, k_sigma),
    )


def count_phrase(counts: Mapping[str, int]) -> str:
    """``"1 crack extending, 2 new, 2 shrinking or partly lost"`` from counts per class (zeros left out)."""
    parts: list[str] = []
    for change in CHANGES:
        n = counts.get(change, 0)
        if n and change != STABLE:
            parts.append(f"{n} crack{'s' if n != 1 else ''} {change}" if not parts else f"{n} {change}")
    return ", ".join(parts)
