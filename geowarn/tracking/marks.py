"""Marks along lines: points sampled along the pieces of a geometry, and runs of marked points back into sub-lines.

The look-back marks each sample point of a new-looking piece (seen before, no line now) and turns
runs of marked points into the sub-lines that do not count; short unmarked gaps are bridged, and
points beside an earlier delineated crack take the verdict of their neighbours.
"""

from __future__ import annotations

import itertools

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring


def line_pieces(geometry: BaseGeometry) -> list[LineString]:
    """The non-empty line strings of ``geometry`` (multi-lines and collections taken apart)."""
    parts = getattr(geometry, "geoms", [geometry])
    out: list[LineString] = []
    for part in parts:
        if isinstance(part, MultiLineString):
            out.extend(line_pieces(part))
        elif isinstance(part, LineString) and not part.is_empty and part.length > 0:
            out.append(part)
    return out


def sample_lines(geometry: BaseGeometry, spacing_m: float) -> tuple[list[LineString], list[NDArray[np.float64]]]:
    """The lines of ``geometry`` and points every ``spacing_m`` (at least both ends) along each."""
    pieces = line_pieces(geometry)
    counts = [max(2, int(np.ceil(p.length / spacing_m)) + 1) for p in pieces]
    points = [
        shapely.get_coordinates(shapely.line_interpolate_point(p, np.linspace(0.0, p.length, n)))
        for p, n in zip(pieces, counts, strict=True)
    ]
    return pieces, points


def marked_parts(piece: LineString, marks: NDArray[np.bool_]) -> list[LineString]:
    """Sub-lines of ``piece`` over each run of at least two marked points (evenly spaced along it)."""
    step = piece.length / (len(marks) - 1)
    out: list[LineString] = []
    for start, stop in runs(marks):
        if stop - start >= 2:
            part = substring(piece, start * step, (stop - 1) * step)
            if isinstance(part, LineString) and part.length > 0:
                out.append(part)
    return out


def runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def gap_points(piece: LineString, n_points: int, gap_m: float) -> int:
    """``gap_m`` in sample points of ``piece`` (``n_points`` evenly spaced along it)."""
    step: float = piece.length / (n_points - 1)
    return round(gap_m / step)


def fill_gaps(marks: NDArray[np.bool_], max_gap: int) -> NDArray[np.bool_]:
    """``marks`` with runs of at most ``max_gap`` False between two True runs set True."""
    hits = np.flatnonzero(marks)
    out = marks.copy()
    if max_gap > 0 and len(hits) > 1:
        for a, b in itertools.pairwise(hits):
            if 1 < b - a <= max_gap + 1:
                out[a:b] = True
    return out


def beside_mapped(marks: NDArray[np.bool_], near: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """``marks`` with the points ``near`` an earlier delineated crack judged by their neighbours.

    Their own probability is that crack's; they take the verdict of the points just beyond them,
    and are unseen when there are none.
    """
    out = marks & ~near
    for start, stop in runs(near):
        neighbours = [i for i in (start - 1, stop) if 0 <= i < len(marks) and not near[i]]
        out[start:stop] = any(out[i] for i in neighbours)
    return out
