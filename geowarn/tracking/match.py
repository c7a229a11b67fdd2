"""Match the cracks of a new survey to the site's tracks: stable ids, new cracks, splits, merges.

Geometries are in the site frame (already co-registered). A crack and a track are linked when a
large enough part of one centreline lies within a buffer of the other and the overlapping parts
run in the same direction (axial azimuths, so 10° and 190° agree). Links are resolved greedily,
best overlap first, into one-to-one continuations; a further new crack linked to a continued track
is a split (a new id whose parent is that track), a further track linked to a continued crack is
merged into it, unlinked cracks are new and unlinked tracks are missing (kept, flagged).

A crack grows from its tips, and the segmenter often delineates the newly opened part as a piece
of its own, a few centimetres beyond the old tip (the fresh part is narrower and fainter). With
``join_gap_m`` set, an unlinked crack whose free end lies within that gap ahead of a free end of a
continued crack, running on in the tip's direction and not starting behind the tip, is joined to
that crack's track instead of being new; a piece beyond a joined one joins the same track. (The
gap's own direction is not required to follow the tip: the skeleton of a blunt crack end often
forks, so the piece may start beside the fork's branch nearest to it.) Geometry alone cannot tell
a crack segmented apart from a separate crack starting just ahead of it in line: given
``gap_is_crack``, a join also needs it to find crack across the gap (the caller reads the survey's
rasters, ``geowarn.tracking.join_gap``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from shapely import line_merge
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

#: Whether a survey shows crack across the gap between two site-frame points (tip, piece end).
GapCheck = Callable[[Point, Point], bool]


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
    join_gap_m: float = 0.0  # an unlinked crack starting this close ahead of a continued tip continues it (0: off)


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
    joined: dict[int, int] = field(default_factory=dict)  # crack key -> track it continues beyond a tip (new id)
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
    tracks: Mapping[int, CrackShape],
    cracks: Sequence[CrackShape],
    params: TrackingParams | None = None,
    gap_is_crack: GapCheck | None = None,
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
    unlinked = [c for c in cracks if c.key not in linked_cracks]
    if params.join_gap_m > 0:
        continued = [c for c in cracks if c.key in result.continued]
        result.joined = join_beyond_tips(continued, unlinked, result.continued, params, gap_is_crack)
    result.new = [c.key for c in unlinked if c.key not in result.joined]
    result.missing = [t for t in tracks if t not in linked_tracks]
    return result


@dataclass(frozen=True)
class Tip:
    """A free end of a centreline and the direction it points outwards (degrees, 0-360)."""

    point: Point
    heading_deg: float


def free_tips(lines: BaseGeometry, span_m: float) -> list[Tip]:
    """Free ends of a centreline network, each heading along its last ``span_m`` (or its whole branch)."""
    merged = line_merge(lines) if lines.geom_type == "MultiLineString" else lines
    parts = [g for g in getattr(merged, "geoms", [merged]) if g.geom_type == "LineString" and not g.is_empty]
    ends: dict[tuple[float, float], list[tuple[BaseGeometry, bool]]] = {}
    for part in parts:
        if part.length > 0 and not part.is_closed:
            ends.setdefault(part.coords[0], []).append((part, True))
            ends.setdefault(part.coords[-1], []).append((part, False))
    tips = []
    for xy, owners in ends.items():
        if len(owners) != 1:
            continue
        part, at_start = owners[0]
        span = min(span_m, part.length)
        inner = part.interpolate(span if at_start else part.length - span)
        heading = math.degrees(math.atan2(xy[1] - inner.y, xy[0] - inner.x)) % 360.0
        tips.append(Tip(Point(xy), heading))
    return tips


def heading_difference(a: float, b: float) -> float:
    """Smallest difference of two headings in degrees, in [0, 180]."""
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def _continues(tip: Tip, end: Tip, params: TrackingParams) -> float | None:
    """Gap from ``tip`` to a piece's free ``end`` when the piece carries on beyond the tip, else None."""
    gap = float(tip.point.distance(end.point))
    if gap > params.join_gap_m:
        return None
    if heading_difference(tip.heading_deg, (end.heading_deg + 180.0) % 360.0) > params.max_angle_deg:
        return None  # the piece does not run on in the tip's direction
    heading = math.radians(tip.heading_deg)
    along = (end.point.x - tip.point.x) * math.cos(heading) + (end.point.y - tip.point.y) * math.sin(heading)
    if along < -0.25 * params.join_gap_m:
        return None  # the piece starts behind the tip, alongside the crack
    return gap


def join_beyond_tips(
    continued: Sequence[CrackShape],
    unlinked: Sequence[CrackShape],
    track_of: Mapping[int, int],
    params: TrackingParams,
    gap_is_crack: GapCheck | None = None,
) -> dict[int, int]:
    """Unlinked cracks (key -> track id) that carry on beyond a free tip of a continued crack (or of one joined).

    Each piece takes the nearest tip it carries on from whose gap ``gap_is_crack`` (when given) accepts.
    """
    span = 2.0 * params.join_gap_m
    anchors = [(track_of[c.key], tip) for c in continued for tip in free_tips(c.centerline, span)]
    pieces = {c.key: free_tips(c.centerline, span) for c in unlinked if not c.centerline.is_empty}
    joined: dict[int, int] = {}
    while anchors:
        found: dict[int, int] = {}
        for key, ends in pieces.items():
            options = sorted(
                (gap, track_id, i, j)
                for i, (track_id, tip) in enumerate(anchors)
                for j, end in enumerate(ends)
                if (gap := _continues(tip, end, params)) is not None
            )
            for _, track_id, i, j in options:
                if gap_is_crack is None or gap_is_crack(anchors[i][1].point, ends[j].point):
                    found[key] = track_id
                    break
        anchors = []
        for key, track_id in sorted(found.items()):
            joined[key] = track_id
            anchors += [(track_id, tip) for tip in pieces.pop(key)]
    return joined
