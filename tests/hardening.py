"""Counts kept by the hardening tests and printed at the end of the run (``pytest -m faults``).

Each test of a hostile input, a crash or a delivery fault calls :func:`tally` with whether the
outcome was clean (a one-line refusal, a consistent store, a delivery made exactly once), so the
closing summary reads e.g. ``bad inputs: 412 tried, 412 refused cleanly``.
"""

from __future__ import annotations

from collections import Counter

#: What each category's clean outcome is called in the summary.
CATEGORIES = {
    "bad inputs": "refused cleanly",
    "secrets": "masked",
    "crash trials": "consistent",
    "delivery faults": "exactly once",
}

TRIED: Counter[str] = Counter()
CLEAN: Counter[str] = Counter()
NOTES: Counter[str] = Counter()


def tally(category: str, *, clean: bool) -> None:
    """Count one trial of ``category`` (a key of :data:`CATEGORIES`) and whether it came out clean."""
    assert category in CATEGORIES, category
    TRIED[category] += 1
    CLEAN[category] += int(bool(clean))


def note(what: str, count: int = 1) -> None:
    """Add ``count`` to a figure printed beside the counts (e.g. resends recognised by their key)."""
    NOTES[what] += count


def summary() -> list[str]:
    """One line per category tried, then the notes."""
    lines = [
        f"{category}: {TRIED[category]} tried, {CLEAN[category]} {CATEGORIES[category]}"
        for category in CATEGORIES
        if TRIED[category]
    ]
    return lines + [f"{what}: {count}" for what, count in NOTES.items()]
