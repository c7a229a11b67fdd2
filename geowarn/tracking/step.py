"""Tracking and growth for one survey, written to the store in the caller's transaction."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from shapely import unary_union, wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from geowarn.store.queries import processed_before
from geowarn.store.schema import Crack, Growth, Survey, Track, TrackEvent
from geowarn.tracking.coverage import Coverage, inside
from geowarn.tracking.cracks import measure_of
from geowarn.tracking.footprint import Footprint, fresh_pieces
from geowarn.tracking.growth import (
    FailureEstimate,
    TrackGrowth,
    acceleration,
    apply_noise_floor,
    empirical_noise,
    inverse_velocity,
    line_shift,
    track_growth,
)
from geowarn.tracking.match import CrackShape, GapCheck, TrackingParams, match_cracks
from geowarn.tracking.opening import OpeningGauge, OpeningMeasure, PairOpening, opening_change, pair_opening
from geowarn.tracking.settings import TrackingSettings


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


def _image_of(session: Session, survey_id: int) -> tuple[Path, tuple[float, float]] | None:
    """An earlier survey's orthomosaic and its shift into the site frame."""
    earlier = session.get(Survey, survey_id)
    if earlier is None:
        return None
    return Path(earlier.path), (earlier.frame_dx_m or 0.0, earlier.frame_dy_m or 0.0)


def _common_area(session: Session, coverage: Coverage | None, survey_id: int | None) -> BaseGeometry | None:
    """Where the current survey and survey ``survey_id`` both saw the ground (None: unknown, no limit)."""
    image = _image_of(session, survey_id) if coverage is not None and survey_id is not None else None
    return None if image is None or coverage is None else coverage.common(*image)


def _opening_record(measure: OpeningMeasure | None, pair: PairOpening) -> dict[str, Any]:
    """How the opening was measured, for the growth record."""
    record: dict[str, Any] = {"method": "ground displacement across the crack", "measured": False}
    if measure is not None:
        record.update(stations=measure.stations, stations_measured=measure.measured)
        if math.isfinite(measure.delta_m):
            record.update(measured=True, raw_delta_m=measure.delta_m, raw_unc_m=measure.unc_m)
    record.update(pair_common_mode_m=pair.common_mode_m, pair_floor_m=pair.floor_m, pair_tracks=pair.n_tracks)
    return record


def track_survey(
    session: Session,
    survey: Survey,
    cracks: list[Crack],
    settings: TrackingSettings,
    registration_residual: float = 0.0,
    seen_before: list[BaseGeometry] | None = None,
    gap_is_crack: GapCheck | None = None,
    opening: OpeningGauge | None = None,
    coverage: Coverage | None = None,
) -> TrackingOutcome:
    """Match ``cracks`` (already flushed, site frame) to the site's tracks; store tracks, events and growth.

    ``registration_residual``: the survey's co-registration residual (CRS units), which widens the
    matching buffer by three sigmas; ``seen_before``: see ``Footprint``; ``gap_is_crack``: the
    evidence a tip join needs (``match_cracks``); ``opening``: measures each continued crack's
    opening from the ground beside it (``geowarn.tracking.opening``), which then replaces the
    change of the segmented mean width (kept in the metrics as ``mean_width_segmented``);
    ``coverage``: extension and new cracks count only where this survey and the earlier one both
    imaged the ground (``geowarn.tracking.coverage``).
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
        settings.match_buffer_m + 3.0 * chain_unc,
    ).with_seen(seen_before or [])
    mapped_extension: dict[int, float] = {}
    extension_ends: dict[int, int] = {}
    openings: dict[int, OpeningMeasure | None] = {}
    shifts: dict[int, float | None] = {}
    max_shift = settings.max_line_shift_px * survey.gsd_m + 3.0 * chain_unc
    for track_id, item in continued.items():
        since = last_dates[previous_survey_of[track_id]]
        after = [item.crack, *splits.get(track_id, [])]
        after_lines = unary_union([wkb.loads(c.centerline_wkb) for c in after])
        seen_both = inside(after_lines, _common_area(session, coverage, previous_survey_of[track_id]))
        if opening is not None and (image := _image_of(session, previous_survey_of[track_id])) is not None:
            openings[track_id] = opening.measure(*image, after_lines, measure_of(item.crack).mean_width_m)
        extension, without_lookback = footprint.extensions(seen_both)
        mapped_extension[track_id] = without_lookback.length_m
        extension_ends[track_id] = extension.ends
        before_lines = unary_union([wkb.loads(c.centerline_wkb) for c in item.previous])
        shifts[track_id] = line_shift(after_lines, before_lines, footprint.alongside_m, survey.gsd_m)
        item.growth = track_growth(
            [measure_of(c) for c in item.previous],
            [measure_of(c) for c in after],
            float((survey.acquired_on - since).days),
            registration_unc(session, survey.site_id, since, survey.acquired_on),
            settings.significance_sigma,
            settings.tip_noise_px * survey.gsd_m,
            extension.length_m,
            extension.ends,
            settings.tip_noise_width_share,
        )
    floors = empirical_noise([i.growth for i in continued.values() if i.growth], settings.noise_min_tracks)
    pair = pair_opening([m for m in openings.values() if m is not None], settings.noise_min_tracks)
    for track_id, item in continued.items():
        assert item.growth is not None
        g = apply_noise_floor(item.growth, floors, settings.significance_sigma)
        segmented = g.mean_width
        if opening is not None:
            lod_m = settings.opening_lod_px * survey.gsd_m
            measured = opening_change(openings.get(track_id), pair, g.days, settings.significance_sigma, lod_m)
            g = replace(g, mean_width=measured or replace(segmented, significant=False))
        moved = (shifts[track_id] or 0.0) > max_shift
        if moved:  # a shadow's edge or another line: neither its extension nor its opening is the crack's
            g = replace(
                g,
                extension=replace(g.extension, significant=False),
                mean_width=replace(g.mean_width, significant=False),
            )
        item.growth = g
        metrics = g.to_dict()
        metrics["line_shift_m"] = shifts[track_id]
        metrics["line_moved"] = moved
        if opening is not None:
            metrics["mean_width_segmented"] = asdict(segmented)
            metrics["opening"] = _opening_record(openings.get(track_id), pair)
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

    previous = session.scalar(processed_before(survey).with_only_columns(Survey.id).limit(1))
    imaged_before = _common_area(session, coverage, previous)
    new_cracks = [
        inside(wkb.loads(item.crack.centerline_wkb), imaged_before) for item in tracked if item.crack.id in new_ids
    ]
    new_pieces = fresh_pieces([c for c in new_cracks if not c.is_empty], footprint)
    grown = list(continued.values())
    tracked.sort(key=lambda t: t.track_id)
    return TrackingOutcome(tracked, grown, new_pieces, list(assignment.missing), dict(assignment.merged_into))
