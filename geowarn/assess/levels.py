"""Turn a survey's growth signals into the site's alert level.

1. Each track gets a level from its significant extension and opening rates and from its
   inverse-velocity time of failure; each zone gets a level from its count of new cracks.
2. Levels at or above ``persistence.from_level`` (orange by default) stand only when confirmed:
   the same crack (or zone) reached them in the previous survey(s) too, or enough cracks reach
   them now. Otherwise the level waits one step lower, with the reason said. A crack is its
   track together with the tracks it is related to (``TrackSignal.family``: the tracks it split
   off from or was joined to, the pieces split off from or joined to it, tracks merged into it),
   so growth handed from one piece to another still persists, and two pieces of one crack are
   not two cracks agreeing.
3. Hysteresis: the site steps down one level only after ``hysteresis.surveys`` consecutive
   surveys below its current level. Changes smaller than the noise floor never count (they
   arrive here as not significant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from geowarn.assess.settings import LEVEL_ORDER, AssessmentSettings, Thresholds
from geowarn.tracking.growth import FailureEstimate

LEVEL_NAMES = ("green", "yellow", "orange", "red")


def _max_level(levels: Sequence[str]) -> str:
    return max(levels, key=LEVEL_ORDER.__getitem__, default="green")


@dataclass(frozen=True)
class TrackSignal:
    """What one track did between the previous survey and this one."""

    track_id: int
    extension_rate: float | None  # mm/day, None when not significant
    extension_unc: float
    opening_rate: float | None  # mm/day, None when not significant
    opening_unc: float
    failure: FailureEstimate | None = None
    family: frozenset[int] = frozenset()  # other tracks of the same crack (``geowarn.tracking.step.crack_family``)


@dataclass
class Decision:
    """The level after one survey, the unconfirmed candidate, and why."""

    level: str
    candidate: str
    raw: str
    reasons: list[str] = field(default_factory=list)
    track_levels: dict[int, str] = field(default_factory=dict)
    zone_levels: dict[str, str] = field(default_factory=dict)

    def detail(self) -> dict[str, Any]:
        """JSON-ready record, read back by later evaluations for persistence and hysteresis."""
        return {
            "raw": self.raw,
            "reasons": self.reasons,
            "track_levels": {str(k): v for k, v in self.track_levels.items()},
            "zone_levels": self.zone_levels,
        }


@dataclass(frozen=True)
class Previous:
    """An earlier assessment of the site (most recent first when given as a sequence)."""

    level: str
    candidate: str
    track_levels: dict[int, str]
    zone_levels: dict[str, str]

    @classmethod
    def from_detail(cls, level: str, candidate: str, detail: dict[str, Any]) -> Previous:
        return cls(
            level,
            candidate,
            {int(k): v for k, v in detail.get("track_levels", {}).items()},
            dict(detail.get("zone_levels", {})),
        )


def _failure_level(settings: AssessmentSettings, failure: FailureEstimate, survey_date: date) -> str:
    window = settings.time_of_failure_days
    if failure.confidence < window.min_confidence:
        return "green"
    days = (failure.when - survey_date).days
    for name in ("red", "orange", "yellow"):
        bound = getattr(window, name)
        if bound is not None and days <= bound:
            return name
    return "green"


def _rate_level(thresholds: Thresholds, rate: float | None, unc: float, text: str, reasons: list[str]) -> str:
    """Level of a significant growth rate; ``text`` formats the reason from rate and unc."""
    if rate is None or rate <= 0:
        return "green"
    lvl = thresholds.level_of(rate)
    if lvl != "green":
        reasons.append(f"{text.format(rate=rate, unc=unc)} ({lvl} ≥ {thresholds.bound(lvl):g})")
    return lvl


def _track_level(settings: AssessmentSettings, s: TrackSignal, survey_date: date, reasons: list[str]) -> str:
    levels = [
        _rate_level(
            settings.extension_rate_mm_day,
            s.extension_rate,
            s.extension_unc,
            f"crack {s.track_id} extends {{rate:.1f}} ± {{unc:.1f}} mm/day",
            reasons,
        ),
        _rate_level(
            settings.opening_rate_mm_day,
            s.opening_rate,
            s.opening_unc,
            f"crack {s.track_id} opens {{rate:.2f}} ± {{unc:.2f}} mm/day",
            reasons,
        ),
    ]
    if s.failure is not None:
        lvl = _failure_level(settings, s.failure, survey_date)
        if lvl != "green":
            reasons.append(
                f"crack {s.track_id}: inverse-velocity time of failure {s.failure.when} "
                f"(10-90 %: {s.failure.low} to {s.failure.high}, confidence {s.failure.confidence:.0%}) → {lvl}"
            )
        levels.append(lvl)
    return _max_level(levels)


def count_cracks(tracks: Sequence[int], families: dict[int, frozenset[int]]) -> int:
    """How many distinct cracks ``tracks`` are: tracks whose families overlap are one crack."""
    groups: list[set[int]] = []
    for t in tracks:
        members = {t, *families.get(t, frozenset())}
        touching = [g for g in groups if g & members]
        for g in touching:
            members |= g
            groups.remove(g)
        groups.append(members)
    return len(groups)


def _confirmed(
    level: str,
    settings: AssessmentSettings,
    track_levels: dict[int, str],
    zone_levels: dict[str, str],
    failure_tracks: set[int],
    history: Sequence[Previous],
    families: dict[int, frozenset[int]],
) -> bool:
    """Whether ``level`` is confirmed by agreement (several cracks) or persistence (several surveys)."""
    rank = LEVEL_ORDER[level]
    at_level = [t for t, lvl in track_levels.items() if LEVEL_ORDER[lvl] >= rank]
    if count_cracks(at_level, families) >= settings.persistence.cracks or any(t in failure_tracks for t in at_level):
        return True
    need = settings.persistence.surveys - 1
    if need <= 0:
        return bool(at_level) or any(LEVEL_ORDER[v] >= rank for v in zone_levels.values())
    recent = list(history[:need])
    if len(recent) < need:
        return False
    for t in at_level:
        crack = {t, *families.get(t, frozenset())}
        if all(max(LEVEL_ORDER[p.track_levels.get(f, "green")] for f in crack) >= rank for p in recent):
            return True
    for z, lvl in zone_levels.items():
        if LEVEL_ORDER[lvl] >= rank and all(LEVEL_ORDER[p.zone_levels.get(z, "green")] >= rank for p in recent):
            return True
    return False


def evaluate(
    settings: AssessmentSettings,
    survey_date: date,
    signals: Sequence[TrackSignal],
    new_cracks_by_zone: dict[str, int],
    history: Sequence[Previous],
    current_level: str,
) -> Decision:
    """The site's level after this survey.

    Args:
        settings: the site's assessment settings.
        survey_date: acquisition date of the survey being assessed.
        signals: per-track growth since the previous survey.
        new_cracks_by_zone: new cracks (long enough to count) per zone name.
        history: earlier assessments that had a survey, most recent first (no "nodata" ones).
        current_level: the site's level before this survey ("green" for a new site).

    """
    reasons: list[str] = []
    track_levels = {s.track_id: _track_level(settings, s, survey_date, reasons) for s in signals}
    failure_tracks = {
        s.track_id
        for s in signals
        if s.failure is not None and _failure_level(settings, s.failure, survey_date) != "green"
    }
    zone_levels: dict[str, str] = {}
    for zone, count in new_cracks_by_zone.items():
        lvl = settings.new_cracks.level_of(count) if count else "green"
        zone_levels[zone] = lvl
        if lvl != "green":
            reasons.append(f"{count} new cracks in zone {zone} ({lvl} ≥ {settings.new_cracks.bound(lvl):g})")
    raw = _max_level([*track_levels.values(), *zone_levels.values()])

    families = {s.track_id: s.family for s in signals}
    candidate = raw
    gate = LEVEL_ORDER[settings.persistence.from_level]
    while LEVEL_ORDER[candidate] >= gate and not _confirmed(
        candidate, settings, track_levels, zone_levels, failure_tracks, history, families
    ):
        lower = LEVEL_NAMES[LEVEL_ORDER[candidate] - 1]
        reasons.append(
            f"{candidate} trigger awaits confirmation (the same crack in {settings.persistence.surveys} consecutive "
            f"surveys, or {settings.persistence.cracks} cracks): {lower} for now"
        )
        candidate = lower

    level = candidate
    current_rank = LEVEL_ORDER.get(current_level, 0)
    if LEVEL_ORDER[candidate] < current_rank:
        window = [candidate, *(p.candidate for p in history[: settings.hysteresis.surveys - 1])]
        below = len(window) >= settings.hysteresis.surveys and all(LEVEL_ORDER[c] < current_rank for c in window)
        if below:
            level = LEVEL_NAMES[max(current_rank - 1, max(LEVEL_ORDER[c] for c in window))]
            reasons.append(
                f"{settings.hysteresis.surveys} consecutive surveys below {current_level}: stepping down to {level}"
            )
        else:
            level = current_level
            reasons.append(
                f"holding {current_level} until {settings.hysteresis.surveys} consecutive surveys are below it"
            )
    if not reasons:
        reasons.append("no significant crack growth and no new cracks above the thresholds")
    return Decision(level, candidate, raw, reasons, track_levels, zone_levels)
