"""Look back at earlier surveys' imagery where a survey shows crack that no earlier survey delineated.

A faint crack can be missed in one survey (gated off, or just under the segmentation threshold)
and delineated in the next under other light. On the map that looks like growth. Before such a
piece counts as extension or as a new crack, the segmenter is run again, ungated, on each earlier
survey's orthomosaic around it: where the earlier probability was already crack-like, the piece
was there before and is neither extension nor a new crack.

The segmenter can miss a visible crack under one light altogether, so the imagery is also read
directly: where the earlier survey shows the same dark line along the piece (its relative
contrast at least ``line_ratio`` of the current one, ``geowarn.tracking.line_contrast``), the
piece was there too. A tip that grew into intact ground has no line in the earlier imagery.
Conversely, where the current imagery shows no dark line at all (``line_min_now``), the
segmenter marked ground that does not look like a crack: such parts are neither extension nor
new cracks either (``ImageLookback.without_line``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import rasterio
import shapely
from numpy.typing import NDArray
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds
from shapely import LineString, affinity, unary_union
from shapely.geometry.base import BaseGeometry

from geowarn.errors import GeowarnError
from geowarn.inference.cascade import Cascade
from geowarn.inference.tiles import fill_invalid
from geowarn.io.raster import RasterInfo, open_orthomosaic, read_rgb_window
from geowarn.models.preprocess import resize_stack
from geowarn.store.db import Store
from geowarn.store.queries import processed_before
from geowarn.store.schema import Survey
from geowarn.tracking.cracks import read_detected_cracks
from geowarn.tracking.footprint import Footprint
from geowarn.tracking.line_contrast import relative_contrast, unit_normals
from geowarn.tracking.marks import beside_mapped, fill_gaps, gap_points, marked_parts, sample_lines
from geowarn.tracking.radiometry import Radiometry
from geowarn.tracking.settings import TrackingSettings

log = logging.getLogger(__name__)

#: Context read around the pieces, in pixels.
CONTEXT_PX = 64
#: Smallest window side read: the segmenter needs the context of a detection tile (256 px core
#: plus 16 px margins); on much smaller windows it misses faint cracks it finds in a tile.
MIN_SIDE_PX = 288
#: Windows are merged only while the union stays within this side (memory).
MAX_MERGED_SIDE_PX = 2048


def highest_within(prob: NDArray[np.float32], radius_px: float) -> NDArray[np.float32]:
    """Each pixel's highest probability within ``radius_px`` (a disk): what a point of a line reads."""
    radius = max(0, round(radius_px))
    if not radius:
        return prob
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return np.asarray(cv2.dilate(prob, kernel), np.float32)


@dataclass(frozen=True)
class EarlierImage:
    """An earlier survey's orthomosaic and its shift into the site frame (site = survey + frame)."""

    survey_id: int
    path: Path
    frame_dx: float
    frame_dy: float


@dataclass(frozen=True)
class LookbackSettings:
    """How the earlier imagery is read."""

    radius_px: float  # a piece's point is seen when crack-like within this radius (co-registration, centring)
    prob_threshold: float  # earlier ungated crack probability that counts as "crack there"
    target_gsd_m: float | None = None  # the detect config's model resolution (None: native)
    # Points this close to an earlier delineated crack are not judged by their own probability (that
    # crack's end beyond its centreline's tip, within the look radius) but by the points beyond them:
    # a piece going on from an old tip is seen only where the earlier imagery showed it going on.
    exclude_near_m: float = 0.0
    gap_m: float = 0.0  # unseen gaps shorter than this between two seen stretches are seen too
    # A point is seen where the earlier imagery's dark-line contrast is at least this share of the
    # current one (and at least ``line_floor``); 0 turns the imagery comparison off.
    line_ratio: float = 0.0
    line_floor: float = 0.06
    line_smooth_m: float = 0.0  # running median along the line (ground texture), metres
    # Where the current imagery's line contrast is under this, a piece shows no crack (0: off).
    line_min_now: float = 0.0

    @classmethod
    def for_survey(cls, settings: TrackingSettings, gsd_m: float, target_gsd_m: float | None) -> LookbackSettings:
        """The look-back of a survey with pixel size ``gsd_m`` under the site's tracking settings.

        ``target_gsd_m`` is the detect config's model resolution (None: native).
        """
        return cls(
            radius_px=settings.lookback_radius_px,
            prob_threshold=settings.lookback_prob_threshold,
            target_gsd_m=target_gsd_m,
            exclude_near_m=(settings.footprint_tolerance_px + settings.lookback_radius_px) * gsd_m,
            gap_m=settings.min_branch_px * gsd_m,
            line_ratio=settings.lookback_line_ratio,
            line_smooth_m=settings.line_smooth_px * gsd_m,
            line_min_now=settings.lookback_min_line_contrast,
        )


def _expanded(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """``box`` grown about its centre to at least ``MIN_SIDE_PX`` a side, clipped to the raster."""
    c0, r0, c1, r1 = box
    grow_c, grow_r = max(0, MIN_SIDE_PX - (c1 - c0)), max(0, MIN_SIDE_PX - (r1 - r0))
    c0, c1 = c0 - grow_c // 2, c1 + grow_c - grow_c // 2
    r0, r1 = r0 - grow_r // 2, r1 + grow_r - grow_r // 2
    shift_c = max(0, -c0) - max(0, c1 - width)
    shift_r = max(0, -r0) - max(0, r1 - height)
    return max(c0 + shift_c, 0), max(r0 + shift_r, 0), min(c1 + shift_c, width), min(r1 + shift_r, height)


def _merged_boxes(boxes: list[tuple[int, int, int, int]]) -> list[tuple[list[int], tuple[int, int, int, int]]]:
    """Group overlapping pixel boxes (col0, row0, col1, row1); returns member indices and the union box."""
    groups: list[tuple[list[int], tuple[int, int, int, int]]] = []
    for i, box in enumerate(boxes):
        members, (c0, r0, c1, r1) = [i], box
        keep = []
        for g_members, (gc0, gr0, gc1, gr1) in groups:
            union = (min(c0, gc0), min(r0, gr0), max(c1, gc1), max(r1, gr1))
            small = max(union[2] - union[0], union[3] - union[1]) <= MAX_MERGED_SIDE_PX
            if small and gc0 <= c1 and c0 <= gc1 and gr0 <= r1 and r0 <= gr1:
                members += g_members
                c0, r0, c1, r1 = union
            else:
                keep.append((g_members, (gc0, gr0, gc1, gr1)))
        groups = [*keep, (members, (c0, r0, c1, r1))]
    return groups


class ImageLookback:
    """Finds the parts of new pieces that earlier surveys' imagery already showed as crack.

    With ``current`` (the survey being processed), earlier windows are first brought to its light
    (``Radiometry``); without it they are segmented as they are.
    """

    def __init__(
        self, cascade: Cascade, settings: LookbackSettings, current: EarlierImage | None = None, batch: int = 1
    ) -> None:
        self.cascade = cascade
        self.settings = settings
        self.current = current
        self.batch = batch

    def _probability(
        self,
        src: rasterio.io.DatasetReader,
        info: RasterInfo,
        window: Window,
        frame: tuple[float, float],
        radiometry: Radiometry | None,
    ) -> NDArray[np.float32]:
        rgb, valid = read_rgb_window(src, info, window)
        if not valid.all():
            rgb = fill_invalid(rgb, valid)
        if radiometry is not None:
            left, bottom, right, top = window_bounds(window, info.transform)
            rgb = radiometry.match(rgb, (left + frame[0], bottom + frame[1], right + frame[0], top + frame[1]))
        h, w = rgb.shape[:2]
        scale = info.gsd_m / self.settings.target_gsd_m if self.settings.target_gsd_m else 1.0
        mh, mw = max(1, round(h * scale)), max(1, round(w * scale))
        model_rgb = rgb if (mh, mw) == (h, w) else resize_stack(rgb[None], mw, mh)[0]
        pad = ((0, max(0, MIN_SIDE_PX - mh)), (0, max(0, MIN_SIDE_PX - mw)), (0, 0))
        prob = self.cascade.segment(np.pad(model_rgb, pad, mode="edge")[None], self.batch)[:, :mh, :mw]
        if (mh, mw) != (h, w):
            prob = np.asarray(resize_stack(prob, w, h, cv2.INTER_LINEAR), np.float32)
        return highest_within(np.where(valid, prob[0], 0.0).astype(np.float32), self.settings.radius_px)

    def _seen_in(
        self,
        image: EarlierImage,
        points: list[NDArray[np.float64]],
        seen: list[NDArray[np.bool_]],
        radiometry: Radiometry | None,
    ) -> None:
        """Mark, per sample point (site frame) of each piece, whether ``image`` shows crack there (in place)."""
        info = open_orthomosaic(image.path)
        inverse = ~info.transform
        pad = CONTEXT_PX + int(np.ceil(self.settings.radius_px))
        samples: list[NDArray[np.float64]] = []
        boxes: list[tuple[int, int, int, int]] = []
        for pts in points:
            cols, rows = inverse * (pts[:, 0] - image.frame_dx, pts[:, 1] - image.frame_dy)
            rc = np.column_stack([np.asarray(rows), np.asarray(cols)])
            samples.append(rc)
            c0, r0 = int(np.floor(rc[:, 1].min())) - pad, int(np.floor(rc[:, 0].min())) - pad
            c1, r1 = int(np.ceil(rc[:, 1].max())) + pad, int(np.ceil(rc[:, 0].max())) + pad
            if c1 <= 0 or r1 <= 0 or c0 >= info.width or r0 >= info.height:
                boxes.append((0, 0, 0, 0))  # the piece lies outside this survey's image
            else:
                boxes.append(_expanded((c0, r0, c1, r1), info.width, info.height))
        with rasterio.open(info.path) as src:
            for members, (c0, r0, c1, r1) in _merged_boxes(boxes):
                if c1 - c0 < 2 or r1 - r0 < 2:
                    continue
                window = Window(c0, r0, c1 - c0, r1 - r0)
                prob = self._probability(src, info, window, (image.frame_dx, image.frame_dy), radiometry)
                for i in members:
                    rows = np.floor(samples[i][:, 0]).astype(int) - r0
                    cols = np.floor(samples[i][:, 1]).astype(int) - c0
                    inside = (rows >= 0) & (rows < prob.shape[0]) & (cols >= 0) & (cols < prob.shape[1])
                    hit = np.zeros(len(rows), bool)
                    hit[inside] = prob[rows[inside], cols[inside]] >= self.settings.prob_threshold
                    seen[i] |= hit

    def _smooth_points(self, spacing_m: float) -> int:
        """The running median's length in sample points (odd)."""
        return max(1, round(self.settings.line_smooth_m / spacing_m)) | 1

    def _contrast_now(self, points: list[NDArray[np.float64]], spacing_m: float) -> list[NDArray[np.float64]] | None:
        """The current imagery's line contrast at each piece's points; None without a readable current image."""
        if self.current is None:
            return None
        frame, smooth = (self.current.frame_dx, self.current.frame_dy), self._smooth_points(spacing_m)
        try:
            with rasterio.open(self.current.path) as src:
                return [relative_contrast(src, frame, pts, unit_normals(pts), smooth) for pts in points]
        except (OSError, rasterio.errors.RasterioError) as exc:
            log.warning("look-back without the imagery comparison, %s unreadable: %s", self.current.path, exc)
            return None

    def _line_seen(
        self,
        images: list[EarlierImage],
        points: list[NDArray[np.float64]],
        now: list[NDArray[np.float64]],
        spacing_m: float,
    ) -> list[NDArray[np.bool_]]:
        """Per piece, the points where an earlier image shows the dark line the current one shows."""
        s = self.settings
        seen = [np.zeros(len(pts), bool) for pts in points]
        if s.line_ratio <= 0:
            return seen
        smooth = self._smooth_points(spacing_m)
        normals = [unit_normals(pts) for pts in points]
        needs = [np.nan_to_num(np.maximum(s.line_ratio * c, s.line_floor), nan=np.inf) for c in now]
        for image in images:
            frame = (image.frame_dx, image.frame_dy)
            try:
                with rasterio.open(image.path) as src:
                    befores = [relative_contrast(src, frame, *pn, smooth) for pn in zip(points, normals, strict=True)]
            except (OSError, rasterio.errors.RasterioError) as exc:
                log.warning("look-back skipped survey %s (%s): %s", image.survey_id, image.path, exc)
                continue
            for marks, before, need in zip(seen, befores, needs, strict=True):
                marks |= np.nan_to_num(before, nan=-1.0) >= need
        return seen

    def discounted(
        self,
        candidates: BaseGeometry,
        images: list[EarlierImage],
        spacing_m: float,
        mapped: BaseGeometry | None = None,
    ) -> tuple[list[LineString], list[LineString]]:
        """``seen_before`` and ``without_line`` of ``candidates`` in one pass (one read of the current imagery)."""
        pieces, points = sample_lines(candidates, spacing_m)
        wanted = self.settings.line_ratio > 0 or self.settings.line_min_now > 0
        now = self._contrast_now(points, spacing_m) if pieces and wanted else None
        return (
            self._seen(pieces, points, now, images, spacing_m, mapped),
            self._faint(pieces, now, spacing_m),
        )

    def seen_before(
        self,
        candidates: BaseGeometry,
        images: list[EarlierImage],
        spacing_m: float,
        mapped: BaseGeometry | None = None,
    ) -> list[LineString]:
        """Sub-lines of ``candidates`` (site frame) that any of ``images`` already showed as crack.

        Points are sampled every ``spacing_m`` along each piece; consecutive seen points form one
        sub-line. ``mapped`` holds the earlier delineated centrelines (see ``exclude_near_m``). An
        earlier image that cannot be read is skipped with a warning (nothing is assumed seen there).
        """
        pieces, points = sample_lines(candidates, spacing_m)
        now = self._contrast_now(points, spacing_m) if pieces and self.settings.line_ratio > 0 else None
        return self._seen(pieces, points, now, images, spacing_m, mapped)

    def _seen(
        self,
        pieces: list[LineString],
        points: list[NDArray[np.float64]],
        now: list[NDArray[np.float64]] | None,
        images: list[EarlierImage],
        spacing_m: float,
        mapped: BaseGeometry | None,
    ) -> list[LineString]:
        if not pieces or not images:
            return []
        seen = [np.zeros(len(pts), bool) for pts in points]
        errors = (OSError, GeowarnError, rasterio.errors.RasterioError)
        radiometry = None
        if self.current is not None:
            try:
                radiometry = Radiometry(self.current.path, (self.current.frame_dx, self.current.frame_dy))
            except errors as exc:
                log.warning("look-back without light matching, %s unreadable: %s", self.current.path, exc)
        try:
            for image in images:
                try:
                    self._seen_in(image, points, seen, radiometry)
                except errors as exc:
                    log.warning("look-back skipped survey %s (%s): %s", image.survey_id, image.path, exc)
        finally:
            if radiometry is not None:
                radiometry.close()
        if now is None:
            line_seen = [np.zeros(len(pts), bool) for pts in points]
        else:
            line_seen = self._line_seen(images, points, now, spacing_m)
        out: list[LineString] = []
        for piece, pts, marks, by_line in zip(pieces, points, seen, line_seen, strict=True):
            gap = gap_points(piece, len(marks), self.settings.gap_m)
            marks = fill_gaps(marks, gap)
            if mapped is not None and self.settings.exclude_near_m > 0:
                near = shapely.distance(shapely.points(pts), mapped) < self.settings.exclude_near_m
                marks = beside_mapped(marks, near)
            by_line = fill_gaps(by_line, gap)
            if mapped is not None:
                # the line contrast is read on the line itself, not within a radius: an old crack's
                # end reaches only half the running median (plus a pixel) onto the points beyond it
                reach = self.settings.line_smooth_m / 2.0 + 2.0 * spacing_m
                by_line = beside_mapped(by_line, shapely.distance(shapely.points(pts), mapped) < reach)
            out += marked_parts(piece, marks | by_line)
        return out

    def without_line(self, candidates: BaseGeometry, spacing_m: float) -> list[LineString]:
        """Sub-lines of ``candidates`` (site frame) along which the current imagery shows no dark line.

        Their relative line contrast is under ``line_min_now``: the segmenter marked ground that
        does not look like a crack, so nothing says it is one, let alone a new one. Gaps up to
        ``gap_m`` between such stretches (ground texture reaching the level) are bridged.
        """
        if self.settings.line_min_now <= 0:
            return []
        pieces, points = sample_lines(candidates, spacing_m)
        return self._faint(pieces, self._contrast_now(points, spacing_m), spacing_m)

    def _faint(
        self, pieces: list[LineString], now: list[NDArray[np.float64]] | None, spacing_m: float
    ) -> list[LineString]:
        s = self.settings
        if now is None or s.line_min_now <= 0:
            return []
        out: list[LineString] = []
        for piece, contrast in zip(pieces, now, strict=True):
            faint = np.nan_to_num(contrast, nan=np.inf) < s.line_min_now
            out += marked_parts(piece, fill_gaps(faint, gap_points(piece, len(faint), s.gap_m)))
        return out


def survey_lookback(
    store: Store,
    survey: Survey,
    frame: tuple[float, float],
    gpkg: Path,
    cascade: Cascade,
    settings: TrackingSettings,
    target_gsd_m: float | None = None,
) -> tuple[list[LineString], list[LineString]]:
    """New-looking pieces of a survey's cracks (beyond earlier detections) that do not count.

    Returns (seen before, no line now): the parts that the last ``lookback_surveys`` processed
    surveys' imagery already showed, and those along which this survey's imagery shows no dark
    line. ``frame`` is the survey's shift into the site frame, ``gpkg`` its detected cracks.
    """
    current = unary_union([affinity.translate(c.centerline, *frame) for c in read_detected_cracks(gpkg)])
    with store.transaction() as session:
        footprint = Footprint.before(session, survey, settings.footprint_tolerance_px * survey.gsd_m, 0.0)
        earlier = session.scalars(processed_before(survey).limit(settings.lookback_surveys)).all()
        images = [EarlierImage(s.id, Path(s.path), s.frame_dx_m or 0.0, s.frame_dy_m or 0.0) for s in earlier]
    lookback_settings = LookbackSettings.for_survey(settings, survey.gsd_m, target_gsd_m)
    mapped = unary_union(footprint.lines) if footprint.lines else None
    lookback = ImageLookback(cascade, lookback_settings, EarlierImage(survey.id, Path(survey.path), *frame))
    return lookback.discounted(footprint.beyond(current), images, 0.5 * survey.gsd_m, mapped)
