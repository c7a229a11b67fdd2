from __future__ import annotations

import cv2
import numpy as np
import pytest

from geowarn.errors import GeowarnError, InvalidRasterError
from geowarn.vectorize import Component, StripLabeler


def reference(mask: np.ndarray) -> list[tuple[int, int, int, int, int, int, int]]:
    """Whole-raster cv2 labelling as (row0, col0, row1, col1, count, seed_row, seed_col), raster order."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats((mask == 1).astype(np.uint8), connectivity=8)
    out = []
    for k in range(1, n):
        rows, cols = np.nonzero(labels == k)
        first = np.lexsort((cols, rows))[0]
        x, y, w, h, area = (int(v) for v in stats[k])
        out.append((y, x, y + h, x + w, area, int(rows[first]), int(cols[first])))
    return sorted(out, key=lambda t: (t[5], t[6]))


def as_tuples(comps: list[Component]) -> list[tuple[int, int, int, int, int, int, int]]:
    return [(c.row0, c.col0, c.row1, c.col1, c.pixel_count, c.seed_row, c.seed_col) for c in comps]


def label_in_strips(mask: np.ndarray, heights: list[int]) -> list[Component]:
    labeler = StripLabeler(mask.shape[1])
    row, k = 0, 0
    while row < mask.shape[0]:
        h = heights[k % len(heights)]
        labeler.add_strip(row, mask[row : row + h])
        row += h
        k += 1
    return labeler.finish()


@pytest.fixture
def crack_raster() -> np.ndarray:
    """Cracks crossing strip boundaries (every 10 rows), one only diagonally, plus noise."""
    m = np.zeros((60, 50), np.uint8)
    cv2.line(m, (2, 1), (40, 55), 1, 1, cv2.LINE_8)  # long oblique crack over 5 boundaries
    cv2.polylines(m, [np.array([[45, 2], [30, 25], [47, 48]], np.int32)], False, 1, 2, cv2.LINE_8)
    m[8:10, 20] = 1  # meets the next strip only through the diagonal (9,20)-(10,21)
    m[10:13, 21] = 1
    m[19, 5], m[20, 7] = 1, 1  # two columns apart across a boundary: separate
    rng = np.random.default_rng(3)
    noise = rng.random(m.shape) > 0.985
    m[noise] = 1
    m[50:55, 0:4] = 255  # nodata is not crack
    return m


@pytest.mark.parametrize("heights", [[1], [10], [7], [3, 1, 13, 2], [60]])
def test_strips_match_whole_raster_labelling(crack_raster: np.ndarray, heights: list[int]) -> None:
    comps = label_in_strips(crack_raster, heights)
    assert as_tuples(comps) == reference(crack_raster)
    assert [c.id for c in comps] == list(range(1, len(comps) + 1))
    for c in comps:
        assert crack_raster[c.seed_row, c.seed_col] == 1


def test_diagonal_crossing_is_one_component() -> None:
    m = np.zeros((20, 12), np.uint8)
    for i in range(20):  # a pure diagonal: every boundary is crossed only diagonally
        m[i, min(i, 11 - abs(11 - i))] = 1
    comps = label_in_strips(m, [5])
    assert len(comps) == 1
    c = comps[0]
    assert (c.row0, c.row1, c.pixel_count) == (0, 20, 20)
    assert (c.col0, c.col1) == (0, 12)
    assert (c.seed_row, c.seed_col) == (0, 0)


def test_crack_over_several_boundaries_has_merged_bbox() -> None:
    m = np.zeros((40, 30), np.uint8)
    cv2.line(m, (25, 2), (3, 37), 1, 3, cv2.LINE_8)
    comps = label_in_strips(m, [4])
    ref = reference(m)
    assert len(comps) == 1 and as_tuples(comps) == ref
    assert comps[0].pixel_count == int((m == 1).sum())


def test_separate_cracks_stay_separate() -> None:
    m = np.zeros((30, 20), np.uint8)
    m[:, 5] = 1
    m[:, 7] = 1  # one background column between them
    m[14, 10], m[15, 12] = 1, 1  # diagonal gap of two columns at a boundary
    comps = label_in_strips(m, [15])
    assert len(comps) == 4
    assert [c.pixel_count for c in comps] == [30, 30, 1, 1]
    assert [(c.seed_row, c.seed_col) for c in comps] == [(0, 5), (0, 7), (14, 10), (15, 12)]


def test_bool_strips_and_empty_raster() -> None:
    labeler = StripLabeler(8)
    labeler.add_strip(0, np.zeros((3, 8), bool))
    labeler.add_strip(3, np.zeros((0, 8), bool))
    labeler.add_strip(3, np.eye(2, 8, dtype=bool))
    comps = labeler.finish()
    assert len(comps) == 1 and comps[0].pixel_count == 2
    assert StripLabeler(5).finish() == []


def test_state_does_not_grow_with_height() -> None:
    labeler = StripLabeler(16)
    strip = np.zeros((4, 16), np.uint8)
    strip[:, 3] = 1
    for k in range(50):
        labeler.add_strip(4 * k, strip)
    assert labeler._last_row.shape == (16,)
    comps = labeler.finish()
    assert len(comps) == 1 and comps[0].row1 == 200 and comps[0].pixel_count == 200


def test_bad_strips_raise() -> None:
    labeler = StripLabeler(10)
    with pytest.raises(InvalidRasterError, match="shape"):
        labeler.add_strip(0, np.zeros((3, 9), np.uint8))
    labeler.add_strip(0, np.zeros((3, 10), np.uint8))
    with pytest.raises(ValueError, match="row 3 was expected"):
        labeler.add_strip(4, np.zeros((3, 10), np.uint8))
    with pytest.raises(GeowarnError):
        StripLabeler(0)
