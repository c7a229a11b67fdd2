"""Connected-component labelling of a crack mask that arrives in horizontal strips.

Each strip is labelled on its own with OpenCV (8-connectivity). Only the labels of the
last row of the previous strip are kept; labels that touch across the strip boundary
(vertically or diagonally) are joined with a union-find. Per-label statistics (bbox,
pixel count, first pixel) are merged when :meth:`StripLabeler.finish` is called, so
memory depends on the raster width and the number of components, not on its height.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from geowarn.errors import InvalidRasterError

__all__ = ["Component", "StripLabeler"]

_I64 = NDArray[np.int64]


@dataclass
class Component:
    """One connected crack component in global raster pixel coordinates.

    Attributes:
        id: 1..n in raster order of the component's first (top-left) pixel.
        row0: First row of the bbox.
        col0: First column of the bbox.
        row1: Row after the last row of the bbox (exclusive).
        col1: Column after the last column of the bbox (exclusive).
        pixel_count: Number of crack pixels.
        seed_row: Row of a pixel of the component (its first pixel in raster order).
        seed_col: Column of that pixel.

    """

    id: int
    row0: int
    col0: int
    row1: int
    col1: int
    pixel_count: int
    seed_row: int
    seed_col: int

    @property
    def height(self) -> int:
        """Bbox height in pixels."""
        return self.row1 - self.row0

    @property
    def width(self) -> int:
        """Bbox width in pixels."""
        return self.col1 - self.col0


class _Stats:
    """Growable per-label statistics (one entry per strip-local component)."""

    def __init__(self) -> None:
        self.parts: list[_I64] = []

    def add(self, table: _I64) -> None:
        """Append rows of ``row0, col0, row1, col1, count, first`` (first = flat index)."""
        self.parts.append(table)

    def table(self) -> _I64:
        """All rows stacked, shape (n, 6)."""
        if not self.parts:
            return np.zeros((0, 6), dtype=np.int64)
        merged = np.concatenate(self.parts, axis=0)
        self.parts = [merged]
        return merged


class StripLabeler:
    """Label 8-connected crack pixels of a raster fed top to bottom in full-width strips.

    Pixels equal to 1 (or ``True``) are crack; any other value, such as a 255 nodata
    value, is background.

    Example:
        >>> labeler = StripLabeler(width=4)
        >>> labeler.add_strip(0, np.array([[0, 1, 0, 0]], np.uint8))
        >>> labeler.add_strip(1, np.array([[0, 0, 1, 0]], np.uint8))
        >>> [c.pixel_count for c in labeler.finish()]
        [2]

    """

    def __init__(self, width: int) -> None:
        if width <= 0:
            raise InvalidRasterError(f"strip width must be positive, got {width}")
        self.width = int(width)
        self._next_row = 0
        self._n_labels = 0
        self._parent: _I64 = np.zeros(0, dtype=np.int64)
        self._stats = _Stats()
        self._last_row: _I64 = np.full(self.width, -1, dtype=np.int64)

    def add_strip(self, row_offset: int, mask: NDArray[np.uint8] | NDArray[np.bool_]) -> None:
        """Label one strip and join it to the strip above.

        Args:
            row_offset: Global row of the strip's first row; must follow the previous strip.
            mask: (rows, width) array; 1/True marks crack pixels.

        Raises:
            InvalidRasterError: If the strip has the wrong shape or is out of order.

        """
        if mask.ndim != 2 or mask.shape[1] != self.width:
            raise InvalidRasterError(
                f"strip must have shape (rows, {self.width}), got {mask.shape}; pass full-width strips"
            )
        if row_offset != self._next_row:
            raise InvalidRasterError(
                f"strip starts at row {row_offset} but row {self._next_row} was expected; "
                "feed contiguous strips top to bottom"
            )
        rows = mask.shape[0]
        if rows == 0:
            return
        binary = (mask == 1).view(np.uint8)
        if not binary.any():  # most strips of a survey hold no crack
            self._last_row = np.full(self.width, -1, dtype=np.int64)
            self._next_row += rows
            return
        n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8, ltype=cv2.CV_32S)
        offset = self._n_labels  # global id of local label k is offset + k - 1
        n_new = n - 1
        if n_new > 0:
            self._stats.add(self._strip_stats(labels, stats, n_new, row_offset))
            self._grow_parent(offset + n_new)
            self._parent[offset : offset + n_new] = np.arange(offset, offset + n_new, dtype=np.int64)
            first = labels[0].astype(np.int64)
            glob_first = np.where(first > 0, first + offset - 1, -1)
            self._join(self._last_row, glob_first)
            last = labels[-1].astype(np.int64)
            self._last_row = np.where(last > 0, last + offset - 1, -1)
        else:
            self._last_row = np.full(self.width, -1, dtype=np.int64)
        self._n_labels += n_new
        self._next_row += rows

    def _grow_parent(self, size: int) -> None:
        """Make room for ``size`` union-find entries (capacity doubles)."""
        if size > self._parent.size:
            grown = np.zeros(max(size, 2 * self._parent.size), dtype=np.int64)
            grown[: self._parent.size] = self._parent
            self._parent = grown

    def _strip_stats(self, labels: NDArray[np.int32], stats: NDArray[np.int32], n_new: int, row_offset: int) -> _I64:
        """Bbox, count and first flat index of every non-background label of a strip."""
        st = stats[1:].astype(np.int64)
        left, top = st[:, cv2.CC_STAT_LEFT], st[:, cv2.CC_STAT_TOP]
        table = np.empty((n_new, 6), dtype=np.int64)
        table[:, 0] = top + row_offset
        table[:, 1] = left
        table[:, 2] = top + st[:, cv2.CC_STAT_HEIGHT] + row_offset
        table[:, 3] = left + st[:, cv2.CC_STAT_WIDTH]
        table[:, 4] = st[:, cv2.CC_STAT_AREA]
        # First pixel of a label in raster order, as a global flat index.
        flat = labels.ravel()
        idx = np.flatnonzero(flat)
        first = np.full(n_new, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, flat[idx].astype(np.int64) - 1, idx)
        table[:, 5] = first + row_offset * self.width
        return table

    def _join(self, above: _I64, below: _I64) -> None:
        """Union labels that touch across the boundary (vertical and diagonal neighbours)."""
        pairs = []
        for shift in (-1, 0, 1):
            a = above[max(0, -shift) : self.width - max(0, shift)]
            b = below[max(0, shift) : self.width - max(0, -shift)]
            keep = (a >= 0) & (b >= 0)
            if keep.any():
                pairs.append(np.stack([a[keep], b[keep]], axis=1))
        if not pairs:
            return
        for a_id, b_id in np.unique(np.concatenate(pairs, axis=0), axis=0).tolist():
            self._union(a_id, b_id)

    def _find(self, i: int) -> int:
        parent = self._parent
        root = i
        while parent[root] != root:
            root = int(parent[root])
        while parent[i] != root:
            parent[i], i = root, int(parent[i])
        return root

    def _union(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def finish(self) -> list[Component]:
        """Merged components with ids 1..n in raster order of their first pixel."""
        table = self._stats.table()
        if table.shape[0] == 0:
            return []
        roots = self._parent[: table.shape[0]].copy()
        while True:  # pointer jumping: every label ends up pointing at its root
            nxt = roots[roots]
            if np.array_equal(nxt, roots):
                break
            roots = nxt
        uniq, inverse = np.unique(roots, return_inverse=True)
        m = uniq.size
        merged = np.empty((m, 6), dtype=np.int64)
        merged[:, [0, 1, 5]] = np.iinfo(np.int64).max
        merged[:, [2, 3, 4]] = 0
        for col in (0, 1, 5):
            np.minimum.at(merged[:, col], inverse, table[:, col])
        for col in (2, 3):
            np.maximum.at(merged[:, col], inverse, table[:, col])
        np.add.at(merged[:, 4], inverse, table[:, 4])
        merged = merged[np.argsort(merged[:, 5], kind="stable")]
        return [
            Component(
                id=k + 1,
                row0=int(r[0]),
                col0=int(r[1]),
                row1=int(r[2]),
                col1=int(r[3]),
                pixel_count=int(r[4]),
                seed_row=int(r[5] // self.width),
                seed_col=int(r[5] % self.width),
            )
            for k, r in enumerate(merged)
        ]
