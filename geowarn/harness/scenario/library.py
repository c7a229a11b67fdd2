"""The held-out crack images a scenario suite is made from, and which of them a scenario can use."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from geowarn.errors import ConfigError
from geowarn.harness.scenario.compose import (
    SEAM_CLEAR_PX,
    CrackSample,
    SampleStats,
    World,
    fit_width,
    load_sample,
    sample_stats,
    stack_world,
)

__all__ = ["ANY_CRACK", "MIN_KEPT_PX", "NoImageFitsError", "SampleLibrary", "any_crack", "trunk_need", "trunk_ok"]

#: Shortest crack length (px) kept in the first survey of a growing scenario.
MIN_KEPT_PX = 150.0
#: Growing and new cracks come from images whose largest crack has this share of its
#: skeleton on its trunk ...
MIN_TRUNK_SHARE = 0.85
#: ... and is this much darker (DN, median) than the surface around it.
MIN_CONTRAST_DN = 15.0


class NoImageFitsError(ConfigError):
    """No held-out image can make this scenario; the suite goes on without it."""


class SampleLibrary:
    """The held-out samples, loaded once, with their use count over the suite."""

    def __init__(self, samples: list[CrackSample]) -> None:
        self.samples = samples
        loaded = [load_sample(s) for s in samples]
        self.images = [img for img, _ in loaded]
        self.masks = [m for _, m in loaded]
        self.stats = [sample_stats(img, m) for img, m in loaded]
        self.usage: Counter[int] = Counter()

    def flips(self, i: int, slot: int, n_slots: int) -> list[bool]:
        """Row flips that keep sample ``i``'s cracks clear of the seams of ``slot``."""
        st = self.stats[i]
        out = []
        for flip in (False, True):
            top, bottom = (st.bottom_clear, st.top_clear) if flip else (st.top_clear, st.bottom_clear)
            if (slot == 0 or top >= SEAM_CLEAR_PX) and (slot == n_slots - 1 or bottom >= SEAM_CLEAR_PX):
                out.append(flip)
        return out

    def width(self, i: int) -> int:
        """Width (px) of sample ``i``."""
        return int(self.images[i].shape[1])

    def pick(
        self,
        rng: np.random.Generator,
        ok: Callable[[SampleStats], bool],
        slot: int,
        exclude: set[int],
        *,
        need: str,
        width: int | None = None,
    ) -> int:
        """Least used sample that fits ``slot`` of a two-image world (ties broken by ``rng``).

        ``need`` says what ``ok`` asks for (for the error). ``width``: the other image's width;
        images that wide come first (the images of a world are stacked and share their width);
        where none is, another is cut or padded to it when the world is stacked.

        Raises:
            NoImageFitsError: no sample qualifies.

        """
        cand = [
            i
            for i, st in enumerate(self.stats)
            if i not in exclude and not st.blob and ok(st) and self.flips(i, slot, 2)
        ]
        if not cand:
            raise NoImageFitsError(
                f"no image of {self.samples[0].image.parent.parent} fits: it needs {need}, with its cracks at "
                f"least {SEAM_CLEAR_PX} px clear of the seam; use a split with more or longer cracks, or leave "
                f"this kind out with --kinds"
            )
        same = [i for i in cand if self.width(i) == width]
        cand = same or cand
        low = min(self.usage[i] for i in cand)
        best = [i for i in cand if self.usage[i] == low]
        choice = best[int(rng.integers(len(best)))]
        self.usage[choice] += 1
        return choice

    def world(self, rng: np.random.Generator, order: list[int], width: int | None = None) -> World:
        """Two-image world of the samples ``order`` (top first), flips drawn from ``rng``.

        ``width``: images of another width are centre-cut or mirror-padded to it (default: the first's).
        """
        width = width if width is not None else self.width(order[0])
        pieces = []
        for slot, i in enumerate(order):
            flips = self.flips(i, slot, len(order))
            image, mask = fit_width(self.images[i], self.masks[i], width)
            pieces.append(
                (
                    self.samples[i],
                    image,
                    mask,
                    flips[int(rng.integers(len(flips)))],
                    bool(rng.integers(2)),
                )
            )
        return stack_world(pieces)


def trunk_need(need_px: float) -> str:
    """What ``trunk_ok(need_px)`` asks of an image, for people."""
    return (
        f"one clear crack trunk at least {need_px + MIN_KEPT_PX:.0f} px long ({MIN_KEPT_PX:.0f} px kept in the first "
        f"survey plus {need_px:.0f} px of growth), {MIN_TRUNK_SHARE:.0%} of its skeleton on the trunk and "
        f"{MIN_CONTRAST_DN:.0f} DN darker than the ground around it"
    )


def trunk_ok(need_px: float) -> Callable[[SampleStats], bool]:
    """Samples whose largest crack is one clear trunk long enough for ``need_px`` of growth."""
    return lambda st: (
        st.trunk_px >= need_px + MIN_KEPT_PX and st.trunk_share >= MIN_TRUNK_SHARE and st.contrast >= MIN_CONTRAST_DN
    )


ANY_CRACK = "a crack"


def any_crack(st: SampleStats) -> bool:
    """Samples with at least one crack."""
    return st.trunk_px > 0
