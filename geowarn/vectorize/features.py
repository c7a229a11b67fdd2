"""Georeferenced crack features: polygons and centrelines with measurements in metres.

Each component is taken from the mask raster as its bbox plus a 2 px margin, isolated
with a local 8-connected labelling, measured as by
:func:`~geowarn.vectorize.measure.measure_component` and converted with the raster
transform. Components are read and measured in batches: the mask and probability rows
of a band of up to ``BAND_ROWS`` rows are read once for all the components that fit in
it (a taller component is read on its own), the batch is measured by
:func:`~geowarn.vectorize.measure.measure_components`, which skips the width
measurements of components that cannot pass the length and elongation filters, and
the outlines and centrelines of the kept ones are built together.

The pixel size is ``gsd_m = sqrt(|det(transform)|) * metres_per_unit`` (square pixels
assumed); pixel centres are at ``(col + 0.5, row + 0.5)``.

Uncertainties (one standard deviation, metres):
    * ``length_unc_m = gsd * sqrt(n_endpoints * 0.5**2 + (LENGTH_REL_UNC * length_px)**2)``:
      each free tip is located to +-0.5 px, plus a residual relative error of the smoothed
      centreline. ``LENGTH_REL_UNC`` is 1 %: on synthetic bands at 0-90 degrees, 1-12 px
      wide, arcs, a bend and Y shapes, the smoothed length is within -0.5 % to +0.9 %
      (standard deviation 0.2 %), against up to +8 % for the chain-code length.
    * ``width_unc_m = gsd * sqrt(2 * 0.5**2 + width_seg_unc_px**2)``: each edge to +-0.5 px,
      plus the spread of the segmentation between the low and high probability thresholds.

Memory depends on the raster width (one band) and grows with the largest crack: a
component is always read whole, even when its bbox exceeds ``max_window_px`` (a warning
is logged).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from numpy.typing import NDArray
from rasterio.errors import RasterioIOError
from rasterio.features import shapes
from rasterio.io import DatasetReader, DatasetWriter
from rasterio.windows import Window
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geowarn.errors import InvalidRasterError, UnsupportedCRSError
from geowarn.vectorize.atlas import pack
from geowarn.vectorize.centreline import polyline_length
from geowarn.vectorize.components import Component
from geowarn.vectorize.measure import CrackFilter, CrackMeasurement, axial_azimuth, measure_components

__all__ = [
    "COLUMNS",
    "LENGTH_REL_UNC",
    "VectorFeatures",
    "to_multipolygon",
    "vectorize_cracks",
    "vectorize_features",
]

log = logging.getLogger(__name__)

#: Residual relative error of the smoothed centreline length (see module docstring).
LENGTH_REL_UNC = 0.01
#: Pixels read around each component's bbox.
WINDOW_MARGIN = 2
#: Rows of the mask read at once for the components that fit in them.
BAND_ROWS = 512
#: Most window pixels measured in one batch.
BATCH_PIXELS = 1 << 22

#: Attribute columns shared by both layers, with their dtypes.
COLUMNS: dict[str, str] = {
    "crack_id": "int64",
    "length_m": "float64",
    "length_unc_m": "float64",
    "length_steps_m": "float64",
    "mean_width_m": "float64",
    "max_width_m": "float64",
    "width_unc_m": "float64",
    "area_m2": "float64",
    "azimuth_deg": "float64",
    "bbox_minx": "float64",
    "bbox_miny": "float64",
    "bbox_maxx": "float64",
    "bbox_maxy": "float64",
    "mean_prob": "float64",
    "max_prob": "float64",
    "verify_score": "float64",
    "n_branches": "int64",
    "n_pixels": "int64",
    "gsd_m": "float64",
}


_Transform = tuple[float, float, float, float, float, float]


@dataclass
class _Crack:
    """One measured crack before ids are assigned."""

    meas: CrackMeasurement
    transform: _Transform
    verify_score: float = math.nan


@contextmanager
def _open(path: Path, what: str, mode: str = "r") -> Iterator[DatasetReader | DatasetWriter]:
    """Open a raster, turning I/O failures into ``InvalidRasterError``."""
    try:
        src = rasterio.open(path, mode)
    except RasterioIOError as exc:
        raise InvalidRasterError(f"cannot open {what} raster {path}: {exc}") from exc
    with src:
        yield src


def _check_rasters(mask: DatasetReader, prob: DatasetReader | None, metres_per_unit: float) -> None:
    """Reject probability rasters that do not match and CRSs without metres."""
    if mask.crs is not None and mask.crs.is_geographic and metres_per_unit == 1.0:
        raise UnsupportedCRSError(
            f"{mask.name} has geographic CRS {mask.crs}; reproject to a projected CRS or pass metres_per_unit"
        )
    if metres_per_unit <= 0:
        raise InvalidRasterError(f"metres_per_unit must be positive, got {metres_per_unit}")
    if prob is not None and (prob.shape != mask.shape or prob.transform != mask.transform):
        raise InvalidRasterError(
            f"probability raster {prob.name} ({prob.shape}, {prob.transform}) does not match "
            f"mask raster {mask.name} ({mask.shape}, {mask.transform}); write both on one grid"
        )


def _window(comp: Component, height: int, width: int) -> Window:
    """Component bbox plus the margin, clipped to the raster."""
    r0, c0 = max(comp.row0 - WINDOW_MARGIN, 0), max(comp.col0 - WINDOW_MARGIN, 0)
    r1, c1 = min(comp.row1 + WINDOW_MARGIN, height), min(comp.col1 + WINDOW_MARGIN, width)
    return Window(c0, r0, c1 - c0, r1 - r0)


def to_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Valid MultiPolygon made of the polygonal parts of ``geom``."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon | MultiPolygon)]
    polys = [p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    return MultiPolygon(polys)


def _polygons(masks: Sequence[NDArray[np.bool_]], transforms: Sequence[_Transform]) -> list[MultiPolygon]:
    """Outline of each mask's pixels in map coordinates (as ``rasterio.features.shapes`` maps them)."""
    atlas = pack([m.view(np.uint8) for m in masks])
    labels = atlas.owner * atlas.image
    rings: list[NDArray[np.float64]] = []
    ring_bounds, piece_bounds, owner = [0], [0], []
    for geom, value in shapes(labels, mask=labels > 0, connectivity=8):
        for ring in geom["coordinates"]:
            rings.append(np.asarray(ring, dtype=np.float64))
            ring_bounds.append(ring_bounds[-1] + len(ring))
        piece_bounds.append(len(rings))
        owner.append(int(value) - 1)
    item = np.array(owner, dtype=np.int64)
    xy = np.concatenate(rings)
    at = np.repeat(item, np.diff(piece_bounds))
    at = np.repeat(at, np.diff(ring_bounds))
    a, b, c, d, e, f = np.array(transforms, dtype=np.float64)[at].T
    x, y = xy[:, 0] - atlas.origin[at, 1], xy[:, 1] - atlas.origin[at, 0]
    mapped = np.stack([c + a * x + b * y, f + d * x + e * y], axis=1)
    pieces = shapely.from_ragged_array(
        shapely.GeometryType.POLYGON, mapped, (np.array(ring_bounds), np.array(piece_bounds))
    )
    order = np.argsort(item, kind="stable")
    bounds = np.searchsorted(item[order], np.arange(len(masks) + 1))
    return [_outline(pieces[order[bounds[i] : bounds[i + 1]]]) for i in range(len(masks))]


def _outline(pieces: NDArray[np.object_]) -> MultiPolygon:
    """One crack's outline from its polygonised pieces (usually one, which needs no union)."""
    return to_multipolygon(pieces[0] if pieces.size == 1 else shapely.union_all(pieces))


def _centrelines(cracks: Sequence[_Crack]) -> tuple[NDArray[np.object_], NDArray[np.float64]]:
    """Branches of each crack as a MultiLineString in map coordinates, and its grid azimuth."""
    points: list[NDArray[np.float64]] = []
    line_of: list[NDArray[np.int64]] = []
    crack_of: list[int] = []
    for i, c in enumerate(cracks):
        for b in c.meas.branches:
            if polyline_length(b) > 0:
                line_of.append(np.full(b.shape[0], len(crack_of)))
                crack_of.append(i)
                points.append(b)
    pts = np.concatenate(points)
    line = np.concatenate(line_of)
    a, b, c, d, e, f = np.array([k.transform for k in cracks], dtype=np.float64)[np.array(crack_of)[line]].T
    col, row = pts[:, 1] + 0.5, pts[:, 0] + 0.5
    xy = np.stack([a * col + b * row + c, d * col + e * row + f], axis=1)
    lines = shapely.linestrings(xy, indices=line)
    multi = shapely.multilinestrings(lines, indices=np.array(crack_of))
    return multi, _grid_azimuths(xy, line, np.array(crack_of), len(cracks))


def _grid_azimuths(
    xy: NDArray[np.float64], line: NDArray[np.int64], crack_of: NDArray[np.int64], n: int
) -> NDArray[np.float64]:
    """Principal axis of each crack's centreline in [0, 180), clockwise from grid north."""
    same = line[1:] == line[:-1]  # segments within a line
    mids = ((xy[1:] + xy[:-1]) / 2)[same]
    weights = np.hypot(*np.diff(xy, axis=0).T)[same]
    seg_crack = crack_of[line[1:][same]]
    bounds = np.searchsorted(seg_crack, np.arange(n + 1))
    out = np.zeros(n)
    for i in range(n):
        m, w = mids[bounds[i] : bounds[i + 1]], weights[bounds[i] : bounds[i + 1]]
        if w.size and w.sum() > 0:
            out[i] = axial_azimuth(-m[:, 1], m[:, 0], w)  # segment midpoints weighted by length; north = up
    return out


def _batches(comps: Iterable[Component], height: int, width: int) -> Iterator[list[tuple[Component, Window]]]:
    """Consecutive components whose windows fit in one band of rows (or one large window)."""
    batch: list[tuple[Component, Window]] = []
    top = bottom = pixels = 0
    for comp in comps:
        win = _window(comp, height, width)
        r0, r1 = int(win.row_off), int(win.row_off + win.height)
        area = int(win.width * win.height)
        if batch and (max(bottom, r1) - min(top, r0) > BAND_ROWS or pixels + area > BATCH_PIXELS):
            yield batch
            batch = []
        if not batch:
            top, bottom, pixels = r0, r1, 0
        batch.append((comp, win))
        top, bottom, pixels = min(top, r0), max(bottom, r1), pixels + area
    if batch:
        yield batch


def _check_component(comp: Component, mask_src: DatasetReader, max_window_px: int) -> None:
    """Log large components; reject those outside the raster."""
    if max(comp.height, comp.width) > max_window_px:
        log.warning(
            "crack component %d spans %dx%d px, more than max_window_px=%d; reading it whole",
            comp.id,
            comp.height,
            comp.width,
            max_window_px,
        )
    if comp.row0 < 0 or comp.col0 < 0 or comp.row1 > mask_src.height or comp.col1 > mask_src.width:
        raise InvalidRasterError(
            f"component {comp.id} bbox rows {comp.row0}:{comp.row1}, cols {comp.col0}:{comp.col1} lies "
            f"outside {mask_src.name} ({mask_src.height}x{mask_src.width}); label the components from this raster"
        )


@dataclass
class _Batch:
    """Isolated component windows of one batch, ready to measure."""

    masks: list[NDArray[np.bool_]]
    probs: list[NDArray[np.float32] | None]
    transforms: list[_Transform]


def _band(batch: list[tuple[Component, Window]]) -> Window:
    """The band of rows and columns that holds every window of a batch."""
    r0 = min(int(w.row_off) for _, w in batch)
    c0 = min(int(w.col_off) for _, w in batch)
    r1 = max(int(w.row_off + w.height) for _, w in batch)
    c1 = max(int(w.col_off + w.width) for _, w in batch)
    return Window(c0, r0, c1 - c0, r1 - r0)


def _isolate(
    crack_band: NDArray[np.uint8], band: Window, comp: Component, win: Window, name: str
) -> tuple[slice, slice, NDArray[np.int32], NDArray[np.bool_]]:
    """The window of ``comp`` in the band, its local labels and the component's own pixels."""
    rows = slice(int(win.row_off - band.row_off), int(win.row_off + win.height - band.row_off))
    cols = slice(int(win.col_off - band.col_off), int(win.col_off + win.width - band.col_off))
    labels = np.asarray(cv2.connectedComponents(crack_band[rows, cols], connectivity=8, ltype=cv2.CV_32S)[1], np.int32)
    label = labels[comp.seed_row - int(win.row_off), comp.seed_col - int(win.col_off)]
    if label == 0:
        raise InvalidRasterError(
            f"seed pixel ({comp.seed_row}, {comp.seed_col}) of component {comp.id} is not a crack "
            f"pixel of {name}; label the components from this mask raster"
        )
    return rows, cols, labels, np.asarray(labels == label)


def _read_batch(
    batch: list[tuple[Component, Window]], mask_src: DatasetReader, prob_src: DatasetReader | None
) -> _Batch:
    """Read the band of a batch once and isolate each component in its window."""
    band = _band(batch)
    crack_band = (mask_src.read(1, window=band) == 1).view(np.uint8)
    prob_band = None if prob_src is None else prob_src.read(1, window=band)
    a, b, c, d, e, f = mask_src.transform[:6]
    out = _Batch([], [], [])
    for comp, win in batch:
        rows, cols, labels, comp_mask = _isolate(crack_band, band, comp, win, mask_src.name)
        out.masks.append(comp_mask)
        prob = None
        if prob_band is not None:
            prob = prob_band[rows, cols].astype(np.float32) / np.float32(255.0)
            prob[(labels > 0) & ~comp_mask] = 0.0  # neighbouring cracks do not widen this one
        out.probs.append(prob)
        tx, ty = win.col_off, win.row_off  # the window's transform, as Affine.translation(tx, ty) composes it
        out.transforms.append((a, b, a * tx + b * ty + c, d, e, d * tx + e * ty + f))
    return out


@dataclass
class _Measured:
    """A batch measured: its cracks and wide features with their outlines, and what is not a crack."""

    cracks: list[_Crack]
    outlines: list[MultiPolygon]
    wide: list[_Crack]
    wide_outlines: list[MultiPolygon]
    not_cracks: list[int]  # batch indices of the components dropped or wide
    crack_indices: list[int]  # batch indices of the cracks


def _measure_batch(batch: _Batch, accept: CrackFilter, max_mean_width_m: float | None) -> _Measured:
    """Measure the components of a batch once and sort them.

    Components ``accept`` passes are cracks, unless they are broader than ``max_mean_width_m`` on
    average (``CrackMeasurement.breadth_px``): those are wide features, kept for review.
    """
    groups: dict[bool, tuple[list[_Crack], list[NDArray[np.bool_]]]] = {False: ([], []), True: ([], [])}
    not_cracks: list[int] = []
    crack_indices: list[int] = []
    for i, (meas, mask, transform) in enumerate(
        zip(measure_components(batch.masks, batch.probs, accept=accept), batch.masks, batch.transforms, strict=True)
    ):
        if meas is None:
            not_cracks.append(i)
            continue
        wide = max_mean_width_m is not None and meas.breadth_px * accept.gsd_m > max_mean_width_m
        (not_cracks if wide else crack_indices).append(i)
        groups[wide][0].append(_Crack(meas, transform))
        groups[wide][1].append(mask)

    def outlines(wide: bool) -> list[MultiPolygon]:
        found, masks = groups[wide]
        return _polygons(masks, [c.transform for c in found]) if found else []

    return _Measured(groups[False][0], outlines(False), groups[True][0], outlines(True), not_cracks, crack_indices)


def _clear(mask_dst: DatasetWriter, comps: Sequence[Component]) -> None:
    """Set the pixels of ``comps`` to background (0) in the mask raster, one band read and written at a time.

    Called once every component has been measured, so that no measurement sees a mask already
    pruned (a dropped neighbour still counts as another crack beside the one measured).
    """
    for batch in _batches(comps, mask_dst.height, mask_dst.width):
        band = _band(batch)
        values = mask_dst.read(1, window=band)
        crack_band = (values == 1).view(np.uint8)
        for comp, win in batch:
            rows, cols, _, comp_mask = _isolate(crack_band, band, comp, win, mask_dst.name)
            values[rows, cols][comp_mask] = 0
        mask_dst.write(values, 1, window=band)


def _frame(columns: dict[str, Any], geoms: Sequence[BaseGeometry] | NDArray[np.object_], crs: Any) -> gpd.GeoDataFrame:
    """GeoDataFrame with the fixed columns and dtypes, also when empty."""
    data = {k: pd.Series(columns[k], dtype=dtype) for k, dtype in COLUMNS.items()}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(list(geoms), crs=crs), crs=crs)


def _columns(
    cracks: Sequence[_Crack], polygons: Sequence[MultiPolygon], azimuth: NDArray[np.float64], gsd: float
) -> dict[str, Any]:
    """Attribute columns in metres, crack ids 1..n."""
    meas = [c.meas for c in cracks]

    def col(name: str) -> NDArray[np.float64]:
        return np.array([getattr(m, name) for m in meas], dtype=np.float64)

    length = col("length_px")
    bounds = shapely.bounds(np.array(polygons, dtype=object)).reshape(-1, 4)
    area = np.array([m.area_px for m in meas], dtype=np.int64)
    return {
        "crack_id": np.arange(1, len(meas) + 1),
        "length_m": length * gsd,
        "length_unc_m": [gsd * math.hypot(0.5 * math.sqrt(m.n_endpoints), LENGTH_REL_UNC * m.length_px) for m in meas],
        "length_steps_m": col("length_steps_px") * gsd,
        "mean_width_m": col("mean_width_px") * gsd,
        "max_width_m": col("max_width_px") * gsd,
        "width_unc_m": [gsd * math.hypot(0.5 * math.sqrt(2.0), m.width_seg_unc_px) for m in meas],
        "area_m2": area * gsd * gsd,
        "azimuth_deg": azimuth,
        "bbox_minx": bounds[:, 0],
        "bbox_miny": bounds[:, 1],
        "bbox_maxx": bounds[:, 2],
        "bbox_maxy": bounds[:, 3],
        "mean_prob": col("mean_prob"),
        "max_prob": col("max_prob"),
        "verify_score": np.array([c.verify_score for c in cracks], dtype=np.float64),
        "n_branches": [len(m.branches) for m in meas],
        "n_pixels": area,
        "gsd_m": np.full(len(meas), gsd),
    }


#: Scores crack candidates from their centrelines (map coordinates), e.g. on the orthomosaic.
Verify = Callable[[Sequence[BaseGeometry]], NDArray[np.float32]]


@dataclass
class VectorFeatures:
    """Cracks (polygons and centrelines, one row each) and the features kept for review.

    ``wide``: too wide to be a crack; ``unconfirmed``: crack-shaped, but the verifier scored them
    below its threshold.
    """

    polygons: gpd.GeoDataFrame
    centerlines: gpd.GeoDataFrame
    wide: gpd.GeoDataFrame
    unconfirmed: gpd.GeoDataFrame


def vectorize_cracks(
    mask_path: Path, prob_path: Path | None, components: Iterable[Component], **options: Any
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Crack polygons and centrelines: :func:`vectorize_features` (same options) without the wide features."""
    found = vectorize_features(mask_path, prob_path, components, **options)
    return found.polygons, found.centerlines


def vectorize_features(
    mask_path: Path,
    prob_path: Path | None,
    components: Iterable[Component],
    *,
    min_length_m: float,
    min_elongation: float = 0.0,
    max_mean_width_m: float | None = None,
    metres_per_unit: float = 1.0,
    max_window_px: int = 8192,
    prune_mask: bool = False,
    verify: Verify | None = None,
    verify_threshold: float = 0.5,
) -> VectorFeatures:
    """Crack polygons and centrelines with their measurements, in the mask raster's CRS.

    Args:
        mask_path: uint8 mask raster, band 1; 1 is crack, anything else (e.g. 255
            nodata) is background.
        prob_path: uint8 probability raster (p * 255) on the same grid, or None.
        components: Components of ``mask_path``, e.g. from :class:`StripLabeler`; read in
            bands when they come in raster order.
        min_length_m: Cracks shorter than this (metres) are dropped; so are components
            without a centreline (single skeleton pixel).
        min_elongation: Components whose length is less than this many times their mean
            width are dropped: cracks are linear, blobs (shadows, stones) are not.
        max_mean_width_m: Components wider than this on average (metres; the larger of the
            mean local width and area over length) are dropped: broad dark bands and blobs
            are shade, gullies or tracks, not cracks. None: no limit.
        metres_per_unit: Metres per CRS unit (required for a geographic CRS).
        max_window_px: Components with a larger bbox side are logged as large.
        prune_mask: Rewrite ``mask_path`` in place so that it holds only the pixels of the
            cracks returned: dropped components become background (0), nodata stays.
        verify: Scores the components that pass every other test (``verify_score``).
        verify_threshold: Components ``verify`` scores below this are not cracks but
            ``unconfirmed`` features.

    Returns:
        ``polygons`` and ``centerlines``: one row per crack each, same attributes (``COLUMNS``),
        geometries MultiPolygon and MultiLineString, ``crack_id`` 1..n in component order;
        ``wide``: polygons of the components dropped only for their width (they pass the other
        tests): shade, gullies or tracks, or an open fissure wider than the limit, for review;
        ``unconfirmed``: polygons of the crack-shaped components the verifier rejected.

    Raises:
        InvalidRasterError: If a raster cannot be read, the rasters do not match, or a
            component does not belong to the mask.
        UnsupportedCRSError: If the CRS is geographic and ``metres_per_unit`` is 1.

    """
    with ExitStack() as stack:
        mask_src = stack.enter_context(_open(Path(mask_path), "mask", "r+" if prune_mask else "r"))
        prob_src = None
        if prob_path is not None:
            prob_src = stack.enter_context(_open(Path(prob_path), "probability"))
        _check_rasters(mask_src, prob_src, metres_per_unit)
        gsd = math.sqrt(abs(mask_src.transform.determinant)) * metres_per_unit
        accept = CrackFilter(min_length_m, gsd, min_elongation)
        comps = list(components)
        for comp in comps:
            _check_component(comp, mask_src, max_window_px)
        cracks: list[_Crack] = []
        polygons: list[MultiPolygon] = []
        wide: list[_Crack] = []
        wide_polygons: list[MultiPolygon] = []
        not_cracks: list[Component] = []
        crack_comps: list[Component] = []
        for batch in _batches(comps, mask_src.height, mask_src.width):
            measured = _measure_batch(_read_batch(batch, mask_src, prob_src), accept, max_mean_width_m)
            not_cracks.extend(batch[i][0] for i in measured.not_cracks)
            crack_comps.extend(batch[i][0] for i in measured.crack_indices)
            cracks.extend(measured.cracks)
            polygons.extend(measured.outlines)
            wide.extend(measured.wide)
            wide_polygons.extend(measured.wide_outlines)
        lines, azimuth = _centrelines(cracks) if cracks else (np.zeros(0, dtype=object), np.zeros(0))
        confirmed = np.ones(len(cracks), bool)
        if verify is not None and cracks:
            scores = verify(list(lines))
            for crack, score in zip(cracks, scores, strict=True):
                crack.verify_score = float(score)
            confirmed = scores >= verify_threshold
            not_cracks.extend(c for c, ok in zip(crack_comps, confirmed, strict=True) if not ok)
        if isinstance(mask_src, DatasetWriter) and not_cracks:
            _clear(mask_src, not_cracks)
        crs = mask_src.crs

    def pick(items: Sequence[Any] | NDArray[Any], keep: NDArray[np.bool_]) -> list[Any]:
        return [item for item, k in zip(items, keep, strict=True) if k]

    crack_polygons, rejected = pick(polygons, confirmed), ~confirmed
    columns = _columns(pick(cracks, confirmed), crack_polygons, azimuth[confirmed], gsd)
    unconfirmed_polygons = pick(polygons, rejected)
    unconfirmed = _columns(pick(cracks, rejected), unconfirmed_polygons, azimuth[rejected], gsd)
    wide_azimuth = _centrelines(wide)[1] if wide else np.zeros(0)
    return VectorFeatures(
        _frame(columns, crack_polygons, crs),
        _frame(columns, pick(lines, confirmed), crs),
        _frame(_columns(wide, wide_polygons, wide_azimuth, gsd), wide_polygons, crs),
        _frame(unconfirmed, unconfirmed_polygons, crs),
    )
