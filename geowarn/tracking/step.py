"""Tracking and growth for one survey, written to the store in the caller's transaction."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from shapely import STRtree, unary_union, wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from geowarn.store.schema import Crack, Growth, Survey, Track, TrackEvent
from geowarn.tracking.cracks import measure_of
from geowarn.tracking.growth import (
    Extension,
    FailureEstimate,
    TrackGrowth,
    acceleration,
    apply_noise_floor,
    empirical_noise,
    extension_beyond,
    inverse_velocity,
    track_growth,
)
from geowarn.tracking.match import CrackShape, GapCheck, TrackingParams, match_cracks
from geowarn.tracking.settings import TrackingSettings

#: Seen pieces are substrings of the current centrelines; this snaps them back onto them.
SEEN_SNAP_M = 1e-4


@dataclass
class TrackedCrack:
    """A crack of this survey with its track and (when it continues one) its growth."""

    crack: Crack
    track_id: int
    kind: str  # continued | reappeared | split | joined | new
    growth: TrackGrowth | None = None
    previous: list[Crack] = field(default_factory=list)
    failure: FailureEstimate | None = None
    family: frozenset[int] = frozenset()  # other tracks of the same crack (``crack_family``), when it grew


@dataclass
class TrackingOutcome:
    """What tracking found in one survey.

    ``cracks`` are ordered by track id; ``grown`` are the continued cracks with their growth, in
    matching order; ``new_pieces`` the parts of new cracks beyond everything detected in earlier
    surveys and not seen in their imagery.
    """

    cracks: list[TrackedCrack]
    grown: list[TrackedCrack]
    new_pieces: list[BaseGeometry]
    missing: list[int]
    merged: dict[int, int]


def _last_cracks(session: Session, tracks: list[Track]) -> dict[int, Crack]:
    out: dict[int, Crack] = {}
    for track in tracks:
        crack = session.scalar(
            select(Crack).where(Crack.track_id == track.id, Crack.survey_id == track.last_survey_id).limit(1)
        )
        if crack is not None:
            out[track.id] = crack
    return out


def _shape(crack: Crack) -> CrackShape:
    return CrackShape(crack.id, wkb.loads(crack.centerline_wkb), crack.length_m)


def registration_unc(session: Session, site_id: int, after: date, upto: date) -> float:
    """Combined registration uncertainty of the surveys chained between two dates (quadrature sum)."""
    residuals = session.scalars(
        select(Survey.reg_residual_m).where(
            Survey.site_id == site_id,
            Survey.status == "processed",
            Survey.acquired_on > after,
            Survey.acquired_on <= upto,
        )
    ).all()
    return math.sqrt(sum((r or 0.0) ** 2 for r in residuals))


def _failure(session: Session, track_id: int, current: Growth, max_rates: int) -> FailureEstimate | None:
    """Inverse-velocity time of failure from the track's ``max_rates`` most recent extension rates."""
    rows = session.scalars(select(Growth).where(Growth.track_id == track_id).order_by(Growth.id)).all()
    rows = [*[r for r in rows if r.id != current.id], current][-max_rates:]
    if len(rows) < 2:
        return None
    dates = {
        s.id: s.acquired_on
        for s in session.scalars(select(Survey).where(Survey.id.in_([r.from_survey_id for r in rows])))
    }
    origin = min(dates.values())
    mids, rates, uncs = [], [], []
    for r in rows:
        extension = r.metrics["extension"]
        if not extension["significant"] or extension["rate_mm_day"] <= 0:
            return None
        mids.append((dates[r.from_survey_id] - origin).days + r.days / 2.0)
        rates.append(extension["rate_mm_day"])
        uncs.append(extension["rate_unc_mm_day"])
    return inverse_velocity(origin, mids, rates, uncs, seed=track_id)


def crack_family(session: Session, track_id: int) -> frozenset[int]:
    """Other tracks of the same crack: its ancestors, the tracks split off or joined to it, tracks merged into it."""
    family: set[int] = set()
    parent = session.scalar(select(Track.parent_track_id).where(Track.id == track_id))
    while parent is not None and parent not in family:
        family.add(parent)
        parent = session.scalar(select(Track.parent_track_id).where(Track.id == parent))
    related = select(Track.id).where((Track.parent_track_id == track_id) | (Track.merged_into_id == track_id))
    family.update(session.scalars(related))
    family.discard(track_id)
    return frozenset(family)


class Footprint:
    """Centrelines detected at a site in earlier surveys, for spatial lookups within a tolerance.

    ``seen`` are pieces of the current survey's cracks that no earlier survey delineated but
    whose earlier imagery already showed crack (``geowarn.tracking.lookback``): they are neither
    extension nor new cracks.
    """

    def __init__(
        self,
        lines: list[BaseGeometry],
        tolerance_m: float,
        min_branch_m: float = 0.0,
        seen: list[BaseGeometry] | None = None,
        min_tip_move_m: float = 0.0,
    ) -> None:
        self.lines = lines
        self.min_tip_move_m = min_tip_move_m
        self.tree = STRtree(lines)
        self.tolerance_m = tolerance_m
        self.min_branch_m = min_branch_m
        self.seen = unary_union(seen).buffer(SEEN_SNAP_M) if seen else None

    @classmethod
    def before(
        cls, session: Session, survey: Survey, tolerance_m: float, min_branch_m: float, min_tip_move_m: float = 0.0
    ) -> Footprint:
        """Every crack centreline of the site's surveys acquired before ``survey``."""
        earlier = session.scalars(
            select(Crack.centerline_wkb)
            .join(Survey, Crack.survey_id == Survey.id)
            .where(Survey.site_id == survey.site_id, Survey.acquired_on < survey.acquired_on)
        ).all()
        return cls([wkb.loads(b) for b in earlier], tolerance_m, min_branch_m, min_tip_move_m=min_tip_move_m)

    def with_seen(self, seen: list[BaseGeometry]) -> Footprint:
        """The same footprint with ``seen`` pieces."""
        return Footprint(self.lines, self.tolerance_m, self.min_branch_m, seen, self.min_tip_move_m)

    def near(self, geometry: BaseGeometry) -> BaseGeometry | None:
        """Union of the earlier centrelines within the tolerance of ``geometry``."""
        hits = self.tree.query(geometry, predicate="dwithin", distance=self.tolerance_m)
        return unary_union([self.lines[i] for i in hits]) if len(hits) else None

    def beyond(self, geometry: BaseGeometry) -> BaseGeometry:
        """The part of ``geometry`` farther than the tolerance from every earlier centreline."""
        near = self.near(geometry.buffer(self.tolerance_m))
        return geometry if near is None else geometry.difference(near.buffer(self.tolerance_m))

    def fresh(self, geometry: BaseGeometry) -> BaseGeometry:
        """The part of ``geometry`` beyond the earlier centrelines and not seen in earlier imagery."""
        out = self.beyond(geometry)
        return out if self.seen is None or out.is_empty else out.difference(self.seen)

    def extensions(self, current: BaseGeometry) -> tuple[Extension, Extension]:
        """``current``'s extension beyond the earlier detections: less the ``seen`` pieces, and in full.

        See ``extension_beyond``; one footprint query serves both.
        """
        near = self.near(current.buffer(self.tolerance_m))
        args = (self.tolerance_m, self.min_branch_m)
        with_seen = extension_beyond(current, near, *args, self.seen, self.min_tip_move_m)
        if self.seen is None:
            return with_seen, with_seen
        return with_seen, extension_beyond(current, near, *args, None, self.min_tip_move_m)


def fresh_pieces(lines: list[BaseGeometry], footprint: Footprint) -> list[BaseGeometry]:
    """The parts of ``lines`` beyond everything detected in earlier surveys and not seen in their imagery."""
    return [piece for line in lines for piece in _parts(footprint.fresh(line))]


def _parts(geometry: BaseGeometry) -> list[BaseGeometry]:
    return [g for g in getattr(geometry, "geoms", [geometry]) if not g.is_empty and g.length > 0]


def track_survey(
    session: Session,
    survey: Survey,
    cracks: list[Crack],
    settings: TrackingSettings,
    registration_residual: float = 0.0,
    seen_before: list[BaseGeometry] | None = None,
    gap_is_crack: GapCheck | None = None,
) -> TrackingOutcome:
    """Match ``cracks`` (already flushed, site frame) to the site's tracks; store tracks, events and growth.

    ``registration_residual``: the survey's co-registration residual (CRS units), which widens the
    matching buffer by three sigmas; ``seen_before``: see ``Footprint``; ``gap_is_crack``: the
    evidence a tip join needs (``match_cracks``).
    """
    candidates = session.scalars(
        select(Track).where(Track.site_id == survey.site_id, Track.status.in_(("active", "missing")))
    ).all()
    tracks = {t.id: t for t in candidates}
    last = _last_cracks(session, list(candidates))
    assignment = match_cracks(
        {tid: _shape(c) for tid, c in last.items()},
        [_shape(c) for c in cracks],
        TrackingParams(
            buffer_m=settings.match_buffer_m + 3.0 * registration_residual,
            join_gap_m=settings.join_gap_px * survey.gsd_m,
        ),
        gap_is_crack,
    )
    by_key = {c.id: c for c in cracks}
    last_dates = {
        s.id: s.acquired_on
        for s in session.scalars(select(Survey).where(Survey.id.in_({t.last_survey_id for t in candidates})))
    }
    tracked: list[TrackedCrack] = []

    def new_track(crack: Crack, kind: str, parent: int | None) -> TrackedCrack:
        track = Track(
            site_id=survey.site_id,
            first_survey_id=survey.id,
            last_survey_id=survey.id,
            parent_track_id=parent,
        )
        session.add(track)
        session.flush()
        crack.track_id = track.id
        session.add(TrackEvent(survey_id=survey.id, track_id=track.id, kind=kind, related_track_id=parent))
        return TrackedCrack(crack, track.id, kind)

    continued: dict[int, TrackedCrack] = {}
    previous_survey_of: dict[int, int] = {}
    for key, track_id in assignment.continued.items():
        track, crack = tracks[track_id], by_key[key]
        kind = "reappeared" if track.status == "missing" else "continued"
        previous_survey_of[track_id] = track.last_survey_id
        track.status, track.missed_surveys, track.last_survey_id = "active", 0, survey.id
        crack.track_id = track_id
        session.add(TrackEvent(survey_id=survey.id, track_id=track_id, kind=kind))
        continued[track_id] = TrackedCrack(crack, track_id, kind, previous=[last[track_id]])
    for track_id, into in assignment.merged_into.items():
        track = tracks[track_id]
        track.status, track.merged_into_id = "merged", into
        session.add(TrackEvent(survey_id=survey.id, track_id=track_id, kind="merged", related_track_id=into))
        if into in continued:
            continued[into].previous.append(last[track_id])
    splits: dict[int, list[Crack]] = {}
    for key, parent in assignment.split_from.items():
        tracked.append(new_track(by_key[key], "split", parent))
        splits.setdefault(parent, []).append(by_key[key])
    for key, parent in assignment.joined.items():
        tracked.append(new_track(by_key[key], "joined", parent))
        splits.setdefault(parent, []).append(by_key[key])
    new_ids = set(assignment.new)
    for key in assignment.new:
        tracked.append(new_track(by_key[key], "new", None))
    for track_id in assignment.missing:
        track = tracks[track_id]
        if track.status != "missing":
            session.add(TrackEvent(survey_id=survey.id, track_id=track_id, kind="missing"))
        track.status, track.missed_surveys = "missing", track.missed_surveys + 1
    session.flush()

    chain_unc = registration_unc(session, survey.site_id, date.min, survey.acquired_on)
    footprint = Footprint.before(
        session,
        survey,
        settings.footprint_tolerance_px * survey.gsd_m + 3.0 * chain_unc,
        settings.min_branch_px * survey.gsd_m,
        settings.significance_sigma * math.sqrt(2.0) * settings.tip_noise_px * survey.gsd_m,
    ).with_seen(seen_before or [])
    mapped_extension: dict[int, float] = {}
    extension_ends: dict[int, int] = {}
    for track_id, item in continued.items():
        since = last_dates[previous_survey_of[track_id]]
        after = [item.crack, *splits.get(track_id, [])]
        after_lines = unary_union([wkb.loads(c.centerline_wkb) for c in after])
        extension, without_lookback = footprint.extensions(after_lines)
        mapped_extension[track_id] = without_lookback.length_m
        extension_ends[track_id] = extension.ends
        item.growth = track_growth(
            [measure_of(c) for c in item.previous],
            [measure_of(c) for c in after],
            float((survey.acquired_on - since).days),
            registration_unc(session, survey.site_id, since, survey.acquired_on),
            settings.significance_sigma,
            settings.tip_noise_px * survey.gsd_m,
            extension.length_m,
            extension.ends,
        )
    floors = empirical_noise([i.growth for i in continued.values() if i.growth], settings.noise_min_tracks)
    for track_id, item in continued.items():
        assert item.growth is not None
        g = item.growth = apply_noise_floor(item.growth, floors, settings.significance_sigma)
        metrics = g.to_dict()
        metrics["pair_noise_floor"] = floors.to_dict() if floors else None
        metrics["extension_without_lookback_m"] = mapped_extension[track_id]
        metrics["extension_ends"] = extension_ends[track_id]
        prior = session.scalar(select(Growth).where(Growth.track_id == track_id).order_by(Growth.id.desc()).limit(1))
        if prior is not None:
            p_ext = prior.metrics["extension"]
            acc = acceleration(
                p_ext["rate_mm_day"],
                p_ext["rate_unc_mm_day"],
                -(g.days / 2.0) - prior.days / 2.0,
                g.extension.rate_mm_day,
                g.extension.rate_unc_mm_day,
                0.0,
                settings.significance_sigma,
            )
            metrics["extension_acceleration_mm_day2"] = {
                "value": acc.value,
                "unc": acc.unc,
                "significant": acc.significant,
            }
        row = Growth(
            track_id=track_id,
            survey_id=survey.id,
            from_survey_id=previous_survey_of[track_id],
            days=g.days,
            metrics=metrics,
            significant=g.significant,
        )
        session.add(row)
        session.flush()
        item.failure = _failure(session, track_id, row, settings.failure_rates)
        if item.failure is not None:
            row.metrics = {**metrics, "time_of_failure": item.failure.to_dict()}
        item.family = crack_family(session, track_id)
        tracked.append(item)

    new_cracks = [wkb.loads(item.crack.centerline_wkb) for item in tracked if item.crack.id in new_ids]
    new_pieces = fresh_pieces(new_cracks, footprint)
    grown = list(continued.values())
    tracked.sort(key=lambda t: t.track_id)
    return TrackingOutcome(tracked, grown, new_pieces, list(assignment.missing), dict(assignment.merged_into))
