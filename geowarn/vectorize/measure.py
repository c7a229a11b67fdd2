"""Length, width and shape of one crack component, in pixel units.

Method:
    * Skeleton by ``skimage.morphology.skeletonize``. Terminal branches shorter than two
      junction radii (thinning spurs, e.g. the forks towards the corners of a flat crack
      end) are pruned; junction pixels joined by links shorter than their radius form one
      junction. ``r`` below is the distance-transform radius (L2, precise mask).
    * ``length_steps_px`` is the chain-code length of the pruned skeleton (orthogonal
      steps 1, diagonal steps sqrt(2), L-corners counted once). It overestimates oblique
      cracks by up to ~8 % and stops short of the tips by about ``r`` at each free end.
    * ``length_px`` is the primary length. Each branch pixel chain is smoothed by a
      centred moving average (half window ``centreline.SMOOTH_HALF`` px, shrinking towards the chain
      ends so they stay fixed); branches ending in a junction are joined to the junction
      centre. Thinning stops about one radius short of a free tip and often bends towards
      a corner of a blunt end, so each free end is trimmed back by ``END_TRIM_RADII * r``
      and extended along the tangent of the remaining chain up to the mask edge, found
      by a ray through the bilinearly interpolated mask (0.5 crossing). This is exact
      for flat and round ends alike. The returned branches include these extensions, so
      ``length_px`` is the total length of ``branches``. On synthetic bands (0-90
      degrees, widths 1-12 px, flat and round ends, arcs, a bend, Y shapes) the error is
      between -0.5 % and +0.9 % (standard deviation 0.2 %); the largest errors come from
      the straight tip extension on tightly curved wide cracks.
    * Local width at each skeleton pixel: the mask is sampled bilinearly every 0.25 px
      along the normal (PCA of the skeleton pixels in a 7x7 window) and integrated over
      the run through the centre, clamped to ``[2r - 1, 2r + 1]``
      (see :func:`~geowarn.vectorize.width.chord_widths`). Pixels within ``2r + 2`` px of
      a junction are left out. ``mean_width_px`` is the mean of these widths: it weights
      the crack evenly along its length and, unlike area / length, is not biased by the
      tips or the junction overlaps. ``max_width_px`` uses the shortest chord of a
      +-20 degree fan around the normal (the normal is ill-defined at bends) and takes
      the maximum of a ``MAX_WIDTH_MEDIAN``-sample running median along each branch.
    * ``width_seg_unc_px`` (with probabilities): pixels with ``p >= prob_lo`` within the
      component dilated by 2 px, minus component pixels with ``p >= prob_hi``, divided by
      ``2 * length_px``: how far each edge moves between the two thresholds.

A component whose skeleton is a single pixel (an isolated pixel or a compact blob) has
no axis: it is returned with zero length, no branches and no endpoints. An empty mask
raises :class:`EmptyComponentError`.

:func:`measure_components` measures a batch of components at once (their windows packed
into one image, see :mod:`geowarn.vectorize.atlas`) with the same results as one
:func:`measure_component` call each. Given a :class:`CrackFilter`, it skips the width
and probability measurements of components that the filter drops anyway: those too
short, and those whose length is below ``min_elongation`` times a lower bound of their
mean width (every local width is clamped to at least ``2r - 1``), so the components it
drops early are exactly those the full measurement would drop.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from skimage.morphology import skeletonize

from geowarn.errors import GeowarnError
from geowarn.vectorize.atlas import Atlas, pack
from geowarn.vectorize.centreline import branch_polylines, polyline_length
from geowarn.vectorize.graph import STEPS, Branches, Topology, analyse_skeleton
from geowarn.vectorize.width import chord_widths, local_normals

__all__ = [
    "ComponentInputError",
    "CrackFilter",
    "CrackMeasurement",
    "EmptyComponentError",
    "measure_component",
    "measure_components",
]

_F64 = NDArray[np.float64]
_I64 = NDArray[np.int64]

#: Samples of the running median taken along a branch before its maximum width.
MAX_WIDTH_MEDIAN = 5
#: Margin added around the window (PCA neighbourhood plus one pixel).
_PAD = 4
_PCA_RADIUS = 3


class ComponentInputError(GeowarnError, ValueError):
    """The window given to ``measure_component`` cannot be measured."""


class EmptyComponentError(ComponentInputError):
    """The component mask has no crack pixel."""


@dataclass
class CrackMeasurement:
    """Measurements of one crack in pixel units (coordinates in window pixels).

    Attributes:
        length_px: Smoothed centreline length including the tip corrections.
        length_steps_px: Chain-code length of the skeleton (1 / sqrt(2) steps).
        mean_width_px: Mean local width.
        max_width_px: Maximum of the running median of the local width.
        width_seg_unc_px: Width spread between the low and high probability thresholds.
        area_px: Number of crack pixels.
        n_endpoints: Free ends of the skeleton.
        n_junctions: Junctions (clusters of skeleton pixels with 3+ neighbours).
        mean_prob: Mean probability over crack pixels (NaN without probabilities).
        max_prob: Maximum probability over crack pixels (NaN without probabilities).
        branches: Smoothed (N, 2) (row, col) polylines, pixel centres at integers.
        azimuth_deg: Axial direction of the principal axis in [0, 180), clockwise from
            decreasing rows ("up"); columns increasing is 90.

    """

    length_px: float
    length_steps_px: float
    mean_width_px: float
    max_width_px: float
    width_seg_unc_px: float
    area_px: int
    n_endpoints: int
    n_junctions: int
    mean_prob: float
    max_prob: float
    branches: list[NDArray[np.float64]] = field(default_factory=list)
    azimuth_deg: float = 0.0

    @property
    def breadth_px(self) -> float:
        """Mean width as a blob's is judged: the larger of ``mean_width_px`` and area over length.

        The local widths leave out the neighbourhoods of junctions, where a blob (a shade pocket
        under a shrub) holds most of its pixels while its branchy skeleton crosses it: the
        pixels per unit of length still show how broad it is.
        """
        return max(self.mean_width_px, self.area_px / self.length_px if self.length_px > 0 else 0.0)


@dataclass(frozen=True)
class CrackFilter:
    """Which measured components are kept as cracks.

    Attributes:
        min_length_m: Components shorter than this (metres) are dropped, and so are
            those without a centreline.
        gsd_m: Pixel size in metres.
        min_elongation: Components whose length is less than this many mean widths
            are dropped.

    """

    min_length_m: float
    gsd_m: float
    min_elongation: float = 0.0

    def long_enough(self, length_px: _F64) -> NDArray[np.bool_]:
        """Lengths that pass the length test."""
        return np.asarray((length_px > 0) & ~(length_px * self.gsd_m < self.min_length_m))

    def elongated(self, length_px: _F64, width_px: _F64) -> NDArray[np.bool_]:
        """Length and width pairs that pass the elongation test."""
        return np.asarray(~(length_px < self.min_elongation * width_px))


def _groups(key: _I64, n: int) -> tuple[_I64, _I64]:
    """Stable order of the elements by ``key`` (0..n-1) and the bounds of each group."""
    order = np.argsort(key, kind="stable")
    return order, np.searchsorted(key[order], np.arange(n + 1))


def _near_junctions(topo: Topology, item: _I64, radius: _F64, sel: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Selected skeleton pixels within ``2r + 2`` px of a junction pixel of their own component."""
    g = topo.graph
    near = np.zeros(g.rows.size, dtype=bool)
    junctions = np.flatnonzero((topo.cluster_of >= 0) & sel)
    if junctions.size == 0:
        return near
    pixels = np.flatnonzero(sel)
    tree = cKDTree(np.stack([g.rows[pixels], g.cols[pixels]], axis=1))
    centres = np.stack([g.rows[junctions], g.cols[junctions]], axis=1)
    hits = tree.query_ball_point(centres, r=2.0 * radius[junctions] + 2.0)
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    found = pixels[np.fromiter(itertools.chain.from_iterable(hits), dtype=np.int64, count=int(counts.sum()))]
    same = item[found] == np.repeat(item[junctions], counts)
    near[found[same]] = True
    return near


@dataclass
class _MedianWindows:
    """The pixels along each branch and the running-median window of each of them.

    Attributes:
        pixels: Pixel of each branch element (a loop's repeated first pixel left out).
        groups: Per window size, the elements with that window and their window's pixels
            (``MAX_WIDTH_MEDIAN`` samples, fewer near the branch ends; none under 3 pixels).

    """

    pixels: _I64
    groups: list[tuple[_I64, _I64]]

    @classmethod
    def of(cls, branches: Branches) -> _MedianWindows:
        """Windows of every branch element."""
        sizes = branches.sizes - branches.closed
        first = np.repeat(branches.bounds[:-1], sizes)
        pos = np.arange(first.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        m = np.repeat(sizes, sizes)
        half = np.where(m < 3, 0, np.minimum(MAX_WIDTH_MEDIAN // 2, (m - 1) // 2))
        groups = []
        for h in np.unique(half[half > 0]).tolist():
            sel = np.flatnonzero(half == h)
            idx = first[sel, None] + np.clip(pos[sel, None] + np.arange(-h, h + 1)[None, :], 0, m[sel, None] - 1)
            groups.append((sel, branches.pixels[idx]))
        return cls(branches.pixels[first + pos], groups)

    def needed(self, keep: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Pixels whose width enters the running median at a kept pixel."""
        out = keep.copy()
        for sel, window in self.groups:
            out[window[keep[self.pixels[sel]]].ravel()] = True
        return out

    def running_max(self, item: _I64, shortest: _F64, keep: NDArray[np.bool_], n: int) -> _F64:
        """Per component, the maximum over kept pixels of the running median of ``shortest`` (-1 if none)."""
        smooth = shortest[self.pixels]
        for sel, window in self.groups:
            smooth[sel] = np.median(shortest[window], axis=1)
        out = np.full(n, -1.0)
        kept = keep[self.pixels]
        np.maximum.at(out, item[self.pixels[kept]], smooth[kept])
        return out


def axial_azimuth(
    rows: NDArray[np.float64], cols: NDArray[np.float64], weights: NDArray[np.float64] | None = None
) -> float:
    """Principal axis direction in [0, 180) degrees, clockwise from decreasing rows."""
    if rows.size < 2:
        return 0.0
    w = np.ones_like(rows) if weights is None else weights
    w = w / w.sum()
    dr, dc = rows - (w * rows).sum(), cols - (w * cols).sum()
    c_rr, c_cc, c_rc = (w * dr * dr).sum(), (w * dc * dc).sum(), (w * dr * dc).sum()
    theta = 0.5 * np.arctan2(2.0 * c_rc, c_cc - c_rr)  # angle of the axis from the column axis
    return float(np.degrees(np.arctan2(np.cos(theta), -np.sin(theta))) % 180.0)


def _check_inputs(
    mask: NDArray[np.bool_], prob: NDArray[np.floating] | None
) -> tuple[NDArray[np.bool_], NDArray[np.floating] | None]:
    """Validated boolean mask and floating-point probabilities."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ComponentInputError(f"mask must be 2-D, got shape {mask.shape}")
    if prob is not None and np.shape(prob) != mask.shape:
        raise ComponentInputError(f"prob shape {np.shape(prob)} differs from mask shape {mask.shape}")
    if not mask.any():
        raise EmptyComponentError("mask has no crack pixel; pass a window containing the component")
    if prob is not None and not np.issubdtype(np.asarray(prob).dtype, np.floating):
        prob = np.asarray(prob, dtype=np.float64)
    return mask, None if prob is None else np.asarray(prob)


def _prob_stats(
    atlas: Atlas,
    probs: Sequence[NDArray[np.floating] | None],
    items: _I64,
    lo: float,
    hi: float,
    length: _F64,
) -> tuple[_F64, _F64, _F64]:
    """Mean and max probability and the segmentation width spread of ``items``."""
    n = len(probs)
    mean_p, max_p, unc = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n)
    items = np.array([i for i in items.tolist() if probs[i] is not None], dtype=np.int64)
    if items.size == 0:
        return mean_p, max_p, unc
    p = np.zeros(atlas.image.shape, dtype=np.result_type(*[probs[i] for i in items.tolist()]))
    for i in items.tolist():
        atlas.window(i, p)[_PAD:-_PAD, _PAD:-_PAD] = probs[i]
    mask = atlas.image.view(bool)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    dilated = cv2.dilate(atlas.image, kernel).view(bool)
    lo_hit = atlas.owner[dilated & (p >= np.float64(lo))] - 1  # compared as float64
    hi_hit = atlas.owner[mask & (p >= np.float64(hi))] - 1
    spread = np.bincount(lo_hit, minlength=n) - np.bincount(hi_hit, minlength=n)
    inside = np.flatnonzero(mask)
    order, bounds = _groups(atlas.owner.ravel()[inside].astype(np.int64) - 1, n)
    values = p.ravel()[inside[order]].astype(np.float64)
    for i in items.tolist():
        v = values[bounds[i] : bounds[i + 1]]
        mean_p[i], max_p[i] = float(v.mean()), float(v.max())
        if length[i] > 0:
            unc[i] = max(float(spread[i]), 0.0) / (2.0 * length[i])
    return mean_p, max_p, unc


def measure_components(
    masks: Sequence[NDArray[np.bool_]],
    probs: Sequence[NDArray[np.floating] | None] | None = None,
    prob_lo: float = 0.3,
    prob_hi: float = 0.7,
    *,
    accept: CrackFilter | None = None,
) -> list[CrackMeasurement | None]:
    """Measure a batch of crack components, each as :func:`measure_component` would.

    Args:
        masks: 2-D boolean windows, each holding exactly one 8-connected component.
        probs: Crack probabilities in [0, 1] for each window (or None), optional.
        prob_lo: Low probability threshold for the segmentation width spread.
        prob_hi: High probability threshold for the segmentation width spread.
        accept: If given, components it drops come back as None, and their widths and
            probabilities are not measured (see the module docstring).

    Returns:
        One measurement (or None) per window, in order.

    Raises:
        ComponentInputError: If an input has the wrong dimensions or shapes.
        EmptyComponentError: If a mask has no crack pixel.

    """
    n = len(masks)
    checked = [_check_inputs(m, p) for m, p in zip(masks, probs or [None] * n, strict=True)]
    if n == 0:
        return []
    atlas = pack([np.pad(m, _PAD).view(np.uint8) for m, _ in checked])
    m8 = atlas.image
    dt = np.zeros(m8.shape, dtype=np.float32)
    skel = np.zeros(m8.shape, dtype=bool)
    for i in range(n):  # per window, as for one component: OpenCV's radii can differ in the last
        # bit with the image, and a thin crack needs fewer thinning passes than the batch's thickest
        window = atlas.window(i, m8)
        atlas.window(i, dt)[...] = cv2.distanceTransform(window, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        atlas.window(i, skel)[...] = skeletonize(window.view(bool))
    topo = analyse_skeleton(skel, dt)
    g = topo.graph
    item = (atlas.owner[g.rows, g.cols] - 1).astype(np.int64)
    origin = atlas.origin[item]
    rows, cols = g.rows - origin[:, 0], g.cols - origin[:, 1]
    radius = dt[g.rows, g.cols].astype(np.float64)
    polylines = [p - _PAD for p in branch_polylines(topo, rows, cols, origin, dt, m8)]
    branch_order, branch_bounds = _groups(item[topo.branches.first], n)
    lengths = [polyline_length(p) for p in polylines]
    length = np.array(
        [float(sum(lengths[b] for b in branch_order[branch_bounds[i] : branch_bounds[i + 1]])) for i in range(n)]
    )
    alive = np.ones(n, dtype=bool) if accept is None else accept.long_enough(length)
    px_order, px_bounds = _groups(item, n)
    sel = alive[item]
    keep = ~_near_junctions(topo, item, radius, sel)
    for i in np.flatnonzero(alive).tolist():  # a component with every pixel near a junction keeps them all
        px = px_order[px_bounds[i] : px_bounds[i + 1]]
        if not keep[px].any():
            keep[px] = True
    if accept is not None and accept.min_elongation > 0:
        lower = 2.0 * radius - 1.0  # every local width is clamped to at least this
        bound = np.zeros(n)
        for i in np.flatnonzero(alive).tolist():
            px = px_order[px_bounds[i] : px_bounds[i + 1]]
            bound[i] = float(lower[px][keep[px]].mean())
        alive &= accept.elongated(length, bound)
        sel = alive[item]
    mean_w, max_w = _widths(topo, skel, m8, dt, item, rows, cols, radius, keep, sel, alive)
    if accept is not None:
        alive &= accept.elongated(length, mean_w)
    items = np.flatnonzero(alive)
    mean_p, max_p, unc = _prob_stats(atlas, [p for _, p in checked], items, prob_lo, prob_hi, length)
    area = np.bincount(atlas.owner.ravel()[np.flatnonzero(m8)] - 1, minlength=n)
    n_end = np.bincount(item[g.degree == 1], minlength=n)
    junctions = np.flatnonzero(topo.cluster_of >= 0)
    cluster_item = np.zeros(topo.n_clusters, dtype=np.int64)
    cluster_item[topo.cluster_of[junctions]] = item[junctions]
    n_junctions = np.bincount(cluster_item, minlength=n)
    out: list[CrackMeasurement | None] = [None] * n
    for i in items.tolist():
        px = px_order[px_bounds[i] : px_bounds[i + 1]]
        out[i] = CrackMeasurement(
            length_px=float(length[i]),
            length_steps_px=float(((g.nbr[px] >= 0) * STEPS).sum() / 2.0),
            mean_width_px=float(mean_w[i]),
            max_width_px=float(max_w[i]),
            width_seg_unc_px=float(unc[i]),
            area_px=int(area[i]),
            n_endpoints=int(n_end[i]),
            n_junctions=int(n_junctions[i]),
            mean_prob=float(mean_p[i]),
            max_prob=float(max_p[i]),
            branches=[polylines[b] for b in branch_order[branch_bounds[i] : branch_bounds[i + 1]].tolist()],
            azimuth_deg=axial_azimuth(rows[px].astype(np.float64), cols[px].astype(np.float64)),
        )
    return out


def _widths(
    topo: Topology,
    skel: NDArray[np.bool_],
    m8: NDArray[np.uint8],
    dt: NDArray[np.float32],
    item: _I64,
    rows: _I64,
    cols: _I64,
    radius: _F64,
    keep: NDArray[np.bool_],
    sel: NDArray[np.bool_],
    alive: NDArray[np.bool_],
) -> tuple[_F64, _F64]:
    """Mean and robust maximum local width of the ``alive`` components, junction neighbourhoods excluded."""
    g = topo.graph
    n = alive.size
    mean_w, max_w = np.full(n, np.nan), np.full(n, np.nan)
    pixels = np.flatnonzero(sel)
    if pixels.size == 0:
        return mean_w, max_w
    reach_r = np.ones(n)
    np.maximum.at(reach_r, item[pixels], radius[pixels])
    windows = _MedianWindows.of(topo.branches.subset(alive[item[topo.branches.first]]))
    pixels = np.flatnonzero(windows.needed(keep & sel))  # the others enter no width
    normals = local_normals(skel, g.rows[pixels], g.cols[pixels], _PCA_RADIUS)
    origin = np.stack([g.rows[pixels] - rows[pixels], g.cols[pixels] - cols[pixels]], axis=1)
    chords = chord_widths(
        m8,
        dt,
        rows[pixels],
        cols[pixels],
        normals,
        radius[pixels],
        reach=np.ceil(reach_r[item[pixels]]) + 2.0,
        origin=origin,
    )
    across = np.zeros(g.rows.size)
    shortest = np.zeros(g.rows.size)
    across[pixels] = chords[:, 0]  # along the normal
    shortest[pixels] = chords.min(axis=1)  # also right at bends, where the normal is ill-defined
    order, bounds = _groups(item, n)
    for i in np.flatnonzero(alive).tolist():
        px = order[bounds[i] : bounds[i + 1]]
        mean_w[i] = float(across[px][keep[px]].mean())
    top = windows.running_max(item, shortest, keep & sel, n)
    for i in np.flatnonzero(alive).tolist():
        if top[i] < 0:
            px = order[bounds[i] : bounds[i + 1]]
            top[i] = float(shortest[px][keep[px]].max())
        max_w[i] = max(float(top[i]), float(mean_w[i]))
    return mean_w, max_w


def measure_component(
    mask: NDArray[np.bool_],
    prob: NDArray[np.floating] | None = None,
    prob_lo: float = 0.3,
    prob_hi: float = 0.7,
) -> CrackMeasurement:
    """Measure one crack component (see the module docstring for the method).

    Args:
        mask: 2-D boolean window holding exactly one 8-connected crack component.
        prob: Crack probabilities in [0, 1] with the shape of ``mask``, optional.
        prob_lo: Low probability threshold for the segmentation width spread.
        prob_hi: High probability threshold for the segmentation width spread.

    Returns:
        The measurements; coordinates are (row, col) in ``mask`` pixels.

    Raises:
        ComponentInputError: If the inputs have the wrong dimensions or shapes.
        EmptyComponentError: If ``mask`` has no crack pixel.

    """
    meas = measure_components([mask], [prob], prob_lo, prob_hi)[0]
    assert meas is not None  # nothing is dropped without a filter
    return meas
