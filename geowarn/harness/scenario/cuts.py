"""Where to cut a crack along its path so that each survey shows a chosen truth length."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from geowarn.harness.scenario.truncate import CrackPath, kept_part
from geowarn.vectorize.measure import CrackMeasurement, measure_component

__all__ = ["CutSolver", "measure_mask", "sub_noise_cuts"]

#: A cut is accepted when the truth length is within this of its target (px).
CUT_TOLERANCE_PX = 0.4
#: Half width (px) of the scan of cuts around the best secant estimate.
SCAN_PX = 3.0
#: A sub-noise crack is cut at one of these distances (px) from its tip in every survey,
#: so that all its tips are tapered alike.
SUB_NOISE_END_PX = (30.0, 45.0, 60.0, 75.0)
#: Largest truth length step (px) between two surveys of a sub-noise crack.
SUB_NOISE_MAX_STEP_PX = 2.0


def measure_mask(mask: NDArray[np.bool_]) -> CrackMeasurement:
    """Measure one component on its bounding box (plus a margin)."""
    rows, cols = np.nonzero(mask)
    r0, r1 = max(int(rows.min()) - 2, 0), int(rows.max()) + 3
    c0, c1 = max(int(cols.min()) - 2, 0), int(cols.max()) + 3
    return measure_component(mask[r0:r1, c0:c1])


class CutSolver:
    """Cut distances along a crack path that give chosen truth lengths."""

    def __init__(self, path: CrackPath, component: NDArray[np.bool_]) -> None:
        rows, cols = np.nonzero(component)
        r0, c0 = max(int(rows.min()) - 2, 0), max(int(cols.min()) - 2, 0)
        win = np.s_[r0 : int(rows.max()) + 3, c0 : int(cols.max()) + 3]
        self.path = CrackPath(
            pixels=path.pixels - np.array([r0, c0]),
            arc=path.arc,
            along=path.along[win],
            offaxis=path.offaxis[win],
            radius=path.radius[win],
        )
        self.component = component[win]
        self.full_cut = float(path.along[component].max())
        self.cache: dict[float, float] = {}

    def length(self, cut: float) -> float:
        """Truth length (px) of the kept part at ``cut``."""
        if cut not in self.cache:
            kept = kept_part(self.path, self.component, cut)
            self.cache[cut] = measure_mask(kept).length_px if kept.any() else 0.0
        return self.cache[cut]

    def solve(self, target: float, upper: float) -> float:
        """Cut in [0, upper] whose truth length is closest to ``target``, never longer than at ``upper``.

        Secant steps (the length grows about 1 px per px of cut) with a bisection
        fallback, then, as the length of a tapered tip jitters by a px or two, a scan of
        nearby cuts in 0.5 px steps. Cuts whose length exceeds the length at ``upper``
        are never chosen, so the truth lengths of successive surveys never decrease.
        """
        cap = self.length(upper)

        def score(cut: float) -> float:
            value = self.length(cut)
            return abs(value - target) if value <= cap else math.inf

        lo, hi = 0.0, upper
        cut = upper - (cap - target)
        best = (abs(cap - target), upper)
        for _ in range(6):
            cut = min(max(cut, lo), hi)
            err = self.length(cut) - target
            best = min(best, (score(cut), cut))
            if best[0] <= CUT_TOLERANCE_PX:
                return best[1]
            lo, hi = (lo, cut) if err > 0 else (cut, hi)
            step = cut - err
            cut = step if lo < step < hi else 0.5 * (lo + hi)
        centre = best[1]
        for delta in sorted(np.arange(-SCAN_PX, SCAN_PX + 0.01, 0.5), key=abs):
            cut = centre + float(delta)
            if 0.0 < cut <= upper:
                best = min(best, (score(cut), cut))
                if best[0] <= CUT_TOLERANCE_PX:
                    break
        return best[1]


def sub_noise_cuts(solver: CutSolver, total_px: float, n_surveys: int) -> list[float]:
    """Cuts giving a sub-noise crack ``total_px`` of growth in all, in steps of at most 2 px.

    The tapered tip's length jitters by a px or two with the cut, so the cuts are picked
    from a 0.25 px grid below a cut ``SUB_NOISE_END_PX`` from the tip (the next distance
    when no grid length lies 0.5 to ``SUB_NOISE_MAX_STEP_PX`` px below the final one).
    """
    for shift in SUB_NOISE_END_PX:
        last = solver.full_cut - shift
        final = solver.length(last)
        grid = [last - 0.25 * i for i in range(1, 41)]
        near = [t for t in grid if final - SUB_NOISE_MAX_STEP_PX <= solver.length(t) <= final - 0.5]
        if not near:
            continue
        first = min(near, key=lambda t: (abs(solver.length(t) - (final - total_px)), -t))
        low = solver.length(first)
        cuts = [first] + [last] * (n_surveys - 1)
        upper = last
        for k in range(n_surveys - 2, 0, -1):
            target = low + (final - low) * k / (n_surveys - 1)
            options = [
                t for t in [*grid, upper] if first <= t <= upper and low <= solver.length(t) <= solver.length(upper)
            ]
            upper = min(options, key=lambda t: (abs(solver.length(t) - target), -t))
            cuts[k] = upper
        return cuts
    return [solver.full_cut - SUB_NOISE_END_PX[0]] * n_surveys  # pragma: no cover - no growth step found
