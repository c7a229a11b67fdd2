"""Everything detected at a site before a survey, and what of a survey's cracks lies beyond it.

Extension and new cracks are measured against this footprint (``geowarn.tracking.growth``):
a crack's current centreline beyond every earlier delineation, less what earlier imagery
already showed (the look-back) and what runs alongside an earlier line.
"""

from __future__ import annotations

from shapely import STRtree, unary_union, wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from geowarn.store.schema import Crack, Survey
from geowarn.tracking.growth import Extension, extension_beyond

#: Seen pieces are substrings of the current centrelines; this snaps them back onto them.
SEEN_SNAP_M = 1e-4


class Footprint:
    """Centrelines detected at a site in earlier surveys, for spatial lookups within a tolerance.

    ``seen`` are pieces of the current survey's cracks that no earlier survey delineated but
    whose earlier imagery already showed crack (``geowarn.tracking.lookback``): they are neither
    extension nor new cracks. Lines running alongside an earlier line within ``alongside_m`` (and
    not beyond its ends) are that line delineated a little to the side: neither extension nor new.
    """

    def __init__(
        self,
        lines: list[BaseGeometry],
        tolerance_m: float,
        min_branch_m: float = 0.0,
        seen: list[BaseGeometry] | None = None,
        min_tip_move_m: float = 0.0,
        alongside_m: float = 0.0,
    ) -> None:
        self.lines = lines
        self.alongside_m = alongside_m
        self.min_tip_move_m = min_tip_move_m
        self.tree = STRtree(lines)
        self.tolerance_m = tolerance_m
        self.min_branch_m = min_branch_m
        self.seen = unary_union(seen).buffer(SEEN_SNAP_M) if seen else None

    @classmethod
    def before(
        cls,
        session: Session,
        survey: Survey,
        tolerance_m: float,
        min_branch_m: float,
        min_tip_move_m: float = 0.0,
        alongside_m: float = 0.0,
    ) -> Footprint:
        """Every crack centreline of the site's surveys acquired before ``survey``."""
        earlier = session.scalars(
            select(Crack.centerline_wkb)
            .join(Survey, Crack.survey_id == Survey.id)
            .where(Survey.site_id == survey.site_id, Survey.acquired_on < survey.acquired_on)
        ).all()
        lines = [wkb.loads(b) for b in earlier]
        return cls(lines, tolerance_m, min_branch_m, min_tip_move_m=min_tip_move_m, alongside_m=alongside_m)

    def with_seen(self, seen: list[BaseGeometry]) -> Footprint:
        """The same footprint with ``seen`` pieces."""
        return Footprint(self.lines, self.tolerance_m, self.min_branch_m, seen, self.min_tip_move_m, self.alongside_m)

    @property
    def reach_m(self) -> float:
        """Distance within which an earlier centreline bears on a current one."""
        return max(2.0 * self.tolerance_m, self.alongside_m)

    def near(self, geometry: BaseGeometry) -> BaseGeometry | None:
        """Union of the earlier centrelines within ``reach_m`` of ``geometry``."""
        hits = self.tree.query(geometry, predicate="dwithin", distance=self.reach_m)
        return unary_union([self.lines[i] for i in hits]) if len(hits) else None

    def beyond(self, geometry: BaseGeometry) -> BaseGeometry:
        """The part of ``geometry`` farther than the tolerance from every earlier centreline, and not alongside one."""
        near = self.near(geometry)
        if near is None:
            return geometry
        out = geometry.difference(near.buffer(self.tolerance_m))
        if self.alongside_m > self.tolerance_m and not out.is_empty:
            out = out.difference(near.buffer(self.alongside_m, cap_style="flat"))
        return out

    def fresh(self, geometry: BaseGeometry) -> BaseGeometry:
        """The part of ``geometry`` beyond the earlier centrelines and not seen in earlier imagery."""
        out = self.beyond(geometry)
        return out if self.seen is None or out.is_empty else out.difference(self.seen)

    def extensions(self, current: BaseGeometry) -> tuple[Extension, Extension]:
        """``current``'s extension beyond the earlier detections: less the ``seen`` pieces, and in full.

        See ``extension_beyond``; one footprint query serves both.
        """
        near = self.near(current)
        args = (self.tolerance_m, self.min_branch_m)
        with_seen = extension_beyond(current, near, *args, self.seen, self.min_tip_move_m, self.alongside_m)
        if self.seen is None:
            return with_seen, with_seen
        return with_seen, extension_beyond(current, near, *args, None, self.min_tip_move_m, self.alongside_m)


def fresh_pieces(lines: list[BaseGeometry], footprint: Footprint) -> list[BaseGeometry]:
    """The parts of ``lines`` beyond everything detected in earlier surveys and not seen in their imagery."""
    return [piece for line in lines for piece in _parts(footprint.fresh(line))]


def _parts(geometry: BaseGeometry) -> list[BaseGeometry]:
    return [g for g in getattr(geometry, "geoms", [geometry]) if not g.is_empty and g.length > 0]
