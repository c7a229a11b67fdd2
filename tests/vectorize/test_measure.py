"""Accuracy of the pixel measurements on synthetic cracks with known geometry.

Fixtures are digitised by pixel centres (pixel (r, c) has its centre at (r, c)): a pixel
is crack when its centre lies within w/2 of the centreline polyline. With flat ends the
band is also cut by the planes through the first and last vertex, and the true length is
the polyline length; with round ends the true length is the polyline length + w.
A digitised band is only w wide on average: at 45 degrees its width is quantised to
multiples of 0.71 px. Straight fixtures are therefore shifted sideways by the fraction
of a pixel that makes their area width (area / length) closest to w.
"""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest

from geowarn.errors import GeowarnError
from geowarn.vectorize import ComponentInputError, CrackMeasurement, EmptyComponentError, measure_component
from geowarn.vectorize.centreline import polyline_length
from geowarn.vectorize.measure import CrackFilter, measure_components

ANGLES = [0.0, 10.0, 22.5, 30.0, 45.0, 60.0, 90.0]
WIDTHS = [3, 4, 5, 8, 12]


def band(
    shape: tuple[int, int], points: list[tuple[float, float]], w: float, ends: str = "flat"
) -> tuple[np.ndarray, float]:
    """Mask of a band of width ``w`` around a (row, col) polyline and its true length."""
    rr, cc = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    pts = [np.asarray(p, float) for p in points]
    dist = np.full(shape, np.inf)
    along = []
    for a, b in itertools.pairwise(pts):
        d = b - a
        seg = float(np.hypot(*d))
        u = d / seg
        t = (rr - a[0]) * u[0] + (cc - a[1]) * u[1]
        tc = np.clip(t, 0.0, seg)
        dist = np.minimum(dist, np.hypot(rr - a[0] - tc * u[0], cc - a[1] - tc * u[1]))
        along.append((t, seg))
    mask = dist < w / 2
    length = sum(seg for _, seg in along)
    if ends == "flat":
        (t_first, _), (t_last, seg_last) = along[0], along[-1]
        return mask & (t_first > 0) & (t_last <= seg_last), length
    return mask, length + w


def straight(angle: float, w: float, ends: str = "flat", length: float = 200.0) -> tuple[np.ndarray, float]:
    """Straight band at ``angle`` degrees counter-clockwise from the column axis."""
    a = math.radians(angle)
    u = np.array([-math.sin(a), math.cos(a)])
    n = np.array([u[1], -u[0]])
    size = int(length + 2 * w + 12)
    best = None
    for shift in np.arange(8) / 8.0:
        centre = np.array([size / 2, size / 2]) + n * shift + 0.01 * u
        pts = [tuple(centre - u * length / 2), tuple(centre + u * length / 2)]
        flat, _ = band((size, size), pts, w, "flat")
        err = abs(flat.sum() / length - w)
        if best is None or err < best[0] - 1e-9:
            best = (err, pts)
    assert best is not None
    return band((size, size), best[1], w, ends)


def arc(radius: float, a0: float, a1: float, w: float) -> tuple[np.ndarray, float]:
    """Flat-ended circular arc from ``a0`` to ``a1`` degrees; true length is the centre arc."""
    size = int(2 * radius + 2 * w + 8)
    rr, cc = np.mgrid[0:size, 0:size].astype(float)
    c = size / 2 + 0.5
    rho = np.hypot(rr - c, cc - c)
    ang = np.degrees(np.arctan2(-(rr - c), cc - c))
    mask = (np.abs(rho - radius) < w / 2) & (ang >= a0) & (ang <= a1)
    return mask, radius * math.radians(a1 - a0)


def rel_err(value: float, truth: float) -> float:
    return value / truth - 1.0


@pytest.mark.parametrize("w", WIDTHS)
@pytest.mark.parametrize("angle", ANGLES)
def test_straight_flat_ends(angle: float, w: int) -> None:
    mask, truth = straight(angle, w)
    m = measure_component(mask)
    assert abs(rel_err(m.length_px, truth)) < 0.03
    assert abs(m.mean_width_px - w) <= 0.5
    assert abs(m.max_width_px - w) <= 0.5
    assert len(m.branches) == 1 and m.n_endpoints == 2 and m.n_junctions == 0
    assert m.length_px == pytest.approx(sum(polyline_length(b) for b in m.branches))
    expected_az = (90.0 - angle) % 180.0
    assert min(abs(m.azimuth_deg - expected_az), 180 - abs(m.azimuth_deg - expected_az)) < 1.0


@pytest.mark.parametrize("w", [3, 4, 8, 12])
@pytest.mark.parametrize("angle", [0.0, 22.5, 45.0, 60.0])
def test_straight_round_ends(angle: float, w: int) -> None:
    mask, truth = straight(angle, w, ends="round")
    m = measure_component(mask)
    assert abs(rel_err(m.length_px, truth)) < 0.03
    assert abs(m.mean_width_px - w) <= 0.5
    assert abs(m.max_width_px - w) <= 0.5


@pytest.mark.parametrize("w", WIDTHS)
def test_arc(w: int) -> None:
    mask, truth = arc(60.0, -60.0, 150.0, w)
    m = measure_component(mask)
    assert abs(rel_err(m.length_px, truth)) < 0.03
    assert abs(m.mean_width_px - w) <= 0.5
    assert abs(m.max_width_px - w) <= 0.5
    assert len(m.branches) == 1 and m.n_junctions == 0


@pytest.mark.parametrize("w", WIDTHS)
def test_polyline_with_bend(w: int) -> None:
    mask, truth = band((260, 260), [(30.3, 30.2), (150.1, 100.4), (190.7, 230.5)], w)  # 42 degree turn
    m = measure_component(mask)
    assert abs(rel_err(m.length_px, truth)) < 0.03
    assert abs(m.mean_width_px - w) <= 0.5
    assert abs(m.max_width_px - w) <= 0.5
    assert len(m.branches) == 1


@pytest.mark.parametrize("w", [1, 3, 5, 8, 12])
def test_y_shaped_crack(w: int) -> None:
    centre = (120.3, 120.6)
    mask = np.zeros((250, 250), bool)
    truth = 1.5 * w  # three round tips
    for deg in (10.0, 125.0, 250.0):
        tip = (centre[0] - 90 * math.cos(math.radians(deg)), centre[1] + 90 * math.sin(math.radians(deg)))
        arm, arm_len = band((250, 250), [centre, tip], w, "round")
        mask |= arm
        truth += arm_len - w
    m = measure_component(mask)
    assert len(m.branches) == 3
    assert m.n_junctions == 1 and m.n_endpoints == 3
    assert abs(rel_err(m.length_px, truth)) < 0.03
    if w >= 3:
        assert abs(m.mean_width_px - w) <= 0.5


def test_one_pixel_wide_lines() -> None:
    mask = np.zeros((9, 50), bool)
    mask[4, 5:45] = True
    m = measure_component(mask)
    assert m.length_px == pytest.approx(40.0, abs=0.05)
    assert m.mean_width_px == pytest.approx(1.0, abs=0.05)
    assert m.max_width_px == pytest.approx(1.0, abs=0.05)
    assert m.length_steps_px == pytest.approx(39.0)  # pixel centre to pixel centre

    oblique = np.zeros((80, 180), np.uint8)
    rise = round(165 * math.tan(math.radians(22.5)))
    cv2.line(oblique, (5, 5), (170, 5 + rise), 1, 1, cv2.LINE_8)
    m = measure_component(oblique.astype(bool))
    truth = math.hypot(165, rise) + 1
    assert abs(rel_err(m.length_px, truth)) < 0.01
    assert rel_err(m.length_steps_px, truth) > 0.05  # chain code overestimates oblique lines
    assert m.mean_width_px == pytest.approx(1.0, abs=0.25)


def test_closed_loop() -> None:
    rr, cc = np.mgrid[0:120, 0:120]
    mask = np.abs(np.hypot(rr - 60.2, cc - 60.4) - 40) < 2.5
    m = measure_component(mask)
    assert len(m.branches) == 1 and m.n_endpoints == 0 and m.n_junctions == 0
    assert abs(rel_err(m.length_px, 2 * math.pi * 40)) < 0.01
    assert abs(m.mean_width_px - 5) <= 0.5


def test_empty_mask_raises() -> None:
    with pytest.raises(EmptyComponentError, match="no crack pixel") as info:
        measure_component(np.zeros((5, 5), bool))
    assert isinstance(info.value, ValueError) and isinstance(info.value, GeowarnError)


def test_single_pixel_has_zero_length() -> None:
    mask = np.zeros((5, 5), bool)
    mask[2, 2] = True
    m = measure_component(mask)
    assert m.length_px == 0.0 and m.length_steps_px == 0.0
    assert m.branches == [] and m.n_endpoints == 0
    assert m.area_px == 1 and m.mean_width_px == pytest.approx(1.0)


def test_bad_inputs_raise() -> None:
    with pytest.raises(ComponentInputError, match="2-D"):
        measure_component(np.ones((2, 3, 3), bool))
    with pytest.raises(ComponentInputError, match="shape"):
        measure_component(np.ones((3, 3), bool), np.ones((4, 4)))


def test_probabilities_and_segmentation_spread() -> None:
    mask, _ = straight(0.0, 4)
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~mask
    prob = np.where(mask, 0.9, np.where(ring, 0.5, 0.05))
    m = measure_component(mask, prob)
    assert m.mean_prob == pytest.approx(0.9) and m.max_prob == pytest.approx(0.9)
    # the 0.5 ring adds about one pixel on each side: (2 * L) / (2 * L) = 1 px
    assert m.width_seg_unc_px == pytest.approx(1.0, abs=0.05)
    plain = measure_component(mask)
    assert math.isnan(plain.mean_prob) and plain.width_seg_unc_px == 0.0


def test_branches_lie_on_the_crack() -> None:
    mask, _ = arc(60.0, -60.0, 150.0, 6)
    m = measure_component(mask)
    pts = np.rint(np.concatenate(m.branches)).astype(int)
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert grown[pts[:, 0], pts[:, 1]].all()


def noisy_components(seed: int, n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Single 8-connected components like a noisy detector's: lines, blobs, specks, single pixels."""
    rng = np.random.default_rng(seed)
    masks, probs = [], []
    for _ in range(n):
        h, w = (int(v) for v in rng.integers(1, 60, 2))
        img = np.zeros((h + 2, w + 2), np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            p, q = rng.integers(0, [w + 2, h + 2], 2), rng.integers(0, [w + 2, h + 2], 2)
            cv2.line(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 1, int(rng.integers(1, 8)))
        if rng.random() < 0.3:
            img |= (rng.random(img.shape) < 0.4).astype(np.uint8)
        _, labels = cv2.connectedComponents(img, connectivity=8)
        mask = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
        masks.append(mask)
        probs.append(np.where(mask, rng.uniform(0.4, 1.0, mask.shape), rng.uniform(0.0, 0.6, mask.shape)))
    return masks, probs


FIELDS = ("length_px", "length_steps_px", "mean_width_px", "max_width_px", "width_seg_unc_px", "mean_prob")


def assert_same(a: CrackMeasurement, b: CrackMeasurement) -> None:
    # Widths within 1e-6: OpenCV's distance transform can round a radius differently from run to run.
    for name in FIELDS:
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-6, abs=1e-9), name
    assert (a.area_px, a.n_endpoints, a.n_junctions, a.max_prob) == (
        b.area_px,
        b.n_endpoints,
        b.n_junctions,
        b.max_prob,
    )
    assert a.azimuth_deg == pytest.approx(b.azimuth_deg, abs=1e-9)
    assert len(a.branches) == len(b.branches)
    for p, q in zip(a.branches, b.branches, strict=True):
        np.testing.assert_allclose(p, q, atol=1e-9)


def test_batch_measures_each_component_as_alone() -> None:
    masks, probs = noisy_components(11, 60)
    batch = measure_components(masks, probs)
    for mask, prob, meas in zip(masks, probs, batch, strict=True):
        assert meas is not None
        assert_same(meas, measure_component(mask, prob))


@pytest.mark.parametrize(
    ("min_length_m", "gsd_m", "min_elongation"), [(0.1, 0.02, 3.0), (0.0, 0.02, 3.0), (0.3, 0.01, 0.0), (0.05, 0.02, 8)]
)
def test_filter_drops_exactly_what_full_measurement_drops(
    min_length_m: float, gsd_m: float, min_elongation: float
) -> None:
    masks, probs = noisy_components(12, 60)
    accept = CrackFilter(min_length_m, gsd_m, min_elongation)
    full = measure_components(masks, probs)
    filtered = measure_components(masks, probs, accept=accept)
    kept = 0
    for f, m in zip(full, filtered, strict=True):
        assert f is not None
        passes = bool(accept.long_enough(np.array(f.length_px))) and bool(
            accept.elongated(np.array(f.length_px), np.array(f.mean_width_px))
        )
        assert (m is not None) == passes
        if m is not None:
            assert_same(m, f)
            kept += 1
    assert 0 < kept < len(masks)
