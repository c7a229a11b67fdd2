"""What a survey's tracking tells the assessment: one signal per grown crack, and new cracks per zone."""

from __future__ import annotations

from collections.abc import Sequence

from shapely import unary_union
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.wkt import loads as load_wkt

from geowarn.assess.levels import TrackSignal
from geowarn.assess.settings import AssessmentSettings
from geowarn.tracking.step import TrackedCrack

#: Zone of the new cracks outside every configured zone.
SITE_ZONE = "site"


def track_signals(grown: Sequence[TrackedCrack], settings: AssessmentSettings) -> list[TrackSignal]:
    """Growth signals of the cracks that grew, except those shorter than ``min_alert_crack_length_m``."""
    signals = []
    for item in grown:
        g = item.growth
        if g is None or g.length_m < settings.min_alert_crack_length_m:
            continue
        signals.append(
            TrackSignal(
                item.track_id,
                g.extension.rate_mm_day if g.extension.significant else None,
                g.extension.rate_unc_mm_day,
                g.mean_width.rate_mm_day if g.mean_width.significant else None,
                g.mean_width.rate_unc_mm_day,
                item.failure,
                item.family,
            )
        )
    return signals


def _zone_of(point: Point, zones: list[tuple[str, BaseGeometry]]) -> str:
    for name, polygon in zones:
        if polygon.contains(point):
            return name
    return SITE_ZONE


def count_new_cracks(pieces: Sequence[BaseGeometry], settings: AssessmentSettings) -> dict[str, int]:
    """New cracks per zone from the new pieces of a survey (``TrackingOutcome.new_pieces``).

    Pieces closer than ``new_crack_cluster_m`` form one crack, which must be at least
    ``min_new_crack_length_m`` long.
    """
    zones = [(z.name, load_wkt(z.wkt)) for z in settings.zones]
    counts: dict[str, int] = {SITE_ZONE: 0, **{name: 0 for name, _ in zones}}
    if not pieces:
        return counts
    clusters = unary_union([piece.buffer(settings.new_crack_cluster_m / 2.0) for piece in pieces])
    for cluster in getattr(clusters, "geoms", [clusters]):
        members = [piece for piece in pieces if piece.intersects(cluster)]
        if sum(piece.length for piece in members) >= settings.min_new_crack_length_m:
            counts[_zone_of(unary_union(members).centroid, zones)] += 1
    return counts
