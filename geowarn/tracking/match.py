"""Match the cracks of a new survey to the site's tracks: stable ids, new cracks, splits, merges.

Geometries are in the site frame (already co-registered). A crack and a track are linked when a
large enough part of one centreline lies within a buffer of the other and the overlapping parts
run in the same direction (axial azimuths, so 10° and 190° agree). Links are resolved greedily,
best overlap first, into one-to-one continuations; a further new crack linked to a continued track
is a split (a new id whose parent is that track), a further track linked to a continued crack is
merged into it, unlinked cracks are new and unlinked tracks are missing (kept, flagged).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class CrackShape:
    """What matching needs of a crack: its centreline in the site frame."""

    key: int
    centerline: BaseGeometry
    length_m: float


@dataclass(frozen=True)
class TrackingParams:
    """Matching tolerances; ``buffer_m`` grows with the registration uncertainty."""

    buffer_m: float = 0.15
    min_overlap: float = 0.3
    max_angle_deg: float = 40.0


@dataclass(frozen=True)
class Link:
    """A candidate correspondence between a track's last crack and a new crack."""

    track_id: int
    crack_key: int
    overlap_track: float
    overlap_crack: float

    @property
    def score(self) -> float:
        return max(self.overlap_track, self.overlap_crack)


@dataclass
class Assignment:
    """Tracking decisions for one survey."""

    continued: dict[int, int] = field(default_factory=dict)  # crack key -> track id
    split_from: dict[int, int] = field(default_factory=dict)  # crack key -> parent track id (crack gets a new id)
    merged_into: dict[int, int] = field(default_factory=dict)  # track id -> track id that continues
    new: list[int] = field(default_factory=list)  # crack keys with no match
    missing: list[int] = field(default_factory=list)  # track ids with no match
    links: list[Link] = field(default_factory=list)


def axial_direction(geom: BaseGeometry) -> float | None:
    """Principal direction of a line's vertices in degrees [0, 180), or None for a point-like geometry."""
    coords = [np.asarray(part.coords) for part in getattr(geom, "geoms", [geom]) if not part.is_empty]
    if not coords:
        return None
    pts = np.concatenate(coords)
    if len(pts) < 2:
        return None
    centred = pts - pts.mean(axis=0)
    cov = centred.T @ centred
    if not np.isfinite(cov).all() or np.trace(cov) <= 1e-12:
        return None
    evals, evecs = np.linalg.eigh(cov)
    if evals[1] < 4.0 * max(evals[0], 1e-12):  # blob-like: no defined direction
        return None
    vx, vy = evecs[:, 1]
    return math.degrees(math.atan2(vy, vx)) % 180.0


def axial_difference(a: float, b: float) -> float:
    """Smallest difference of two axial directions in degrees, in [0, 90]."""
    d = abs(a - b) % 180.0
    return min(d, 180.0 - d)


def link_score(
    track_line: BaseGeometry, crack_line: BaseGeometry, params: TrackingParams
) -> tuple[float, float] | None:
    """Fractions of each centreline within the buffer of the other, or None when they do not match."""
    if track_line.is_empty or crack_line.is_empty:
        return None
    if track_line.distance(crack_line) > params.buffer_m:
        return None
    near_track = track_line.intersection(crack_line.buffer(params.buffer_m))
    near_crack = crack_line.intersection(track_line.buffer(params.buffer_m))
    f_track = near_track.length / track_line.length if track_line.length > 0 else 0.0
    f_crack = near_crack.length / crack_line.length if crack_line.length > 0 else 0.0
    if max(f_track, f_crack) < params.min_overlap:
        return None
    a, b = axial_direction(near_track), axial_direction(near_crack)
    if a is not None and b is not None and axial_difference(a, b) > params.max_angle_deg:
        return None
    return f_track, f_crack


def match_cracks(
    tracks: Mapping[int, CrackShape], cracks: Sequence[CrackShape], params: TrackingParams | None = None
) -> Assignment:
    """Decide, for each new crack, which track it continues (see the module docstring)."""
    params = params or TrackingParams()
    links: list[Link] = []
    for track_id, last in tracks.items():
        for crack in cracks:
            fractions = link_score(last.centerline, crack.centerline, params)
            if fractions is not None:
                links.append(Link(track_id, crack.key, *fractions))
    links.sort(key=lambda link: (-link.score, link.track_id, link.crack_key))
    result = Assignment(links=links)
    track_taken: dict[int, int] = {}
    for link in links:  # one-to-one continuations, best first
        if link.track_id not in track_taken and link.crack_key not in result.continued:
            result.continued[link.crack_key] = link.track_id
            track_taken[link.track_id] = link.crack_key
    for link in links:  # leftovers become splits and merges
        if link.crack_key not in result.continued and link.crack_key not in result.split_from:
            result.split_from[link.crack_key] = link.track_id
        elif (
            link.crack_key in result.continued
            and link.track_id not in track_taken
            and link.track_id not in result.merged_into
        ):
            result.merged_into[link.track_id] = result.continued[link.crack_key]
    # A split whose parent was itself merged away hangs off the surviving track.
    for key, parent in result.split_from.items():
        result.split_from[key] = result.merged_into.get(parent, parent)
    linked_cracks = {link.crack_key for link in links}
    linked_tracks = {link.track_id for link in links}
    result.new = [c.key for c in cracks if c.key not in linked_cracks]
    result.missing = [t for t in tracks if t not in linked_tracks]
    return result
