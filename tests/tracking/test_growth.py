from datetime import date, timedelta

import numpy as np
import pytest

from geowarn.tracking.growth import (
    CrackMeasure,
    acceleration,
    apply_noise_floor,
    empirical_noise,
    extension_beyond,
    inverse_velocity,
    track_growth,
)
from geowarn.vectorize.features import LENGTH_REL_UNC


def crack(length: float, width: float = 0.03, gsd: float = 0.01) -> CrackMeasure:
    unc = gsd * float(np.hypot(0.5 * np.sqrt(2), LENGTH_REL_UNC * length / gsd))
    return CrackMeasure(length, unc, width, width * 1.5, gsd * 0.8, length * width)


def test_growth_rates_and_uncertainty() -> None:
    g = track_growth([crack(2.0)], [crack(2.35)], 7.0, registration_unc_m=0.01, tip_noise_m=0.015)
    assert g.length.delta_m == pytest.approx(0.35)
    assert g.length.rate_mm_day == pytest.approx(50.0)
    # endpoint parts (0.5 px x sqrt(2 endpoints) per survey), tip noise, 1 % of the change, registration
    tip = 0.01 * 0.5 * np.sqrt(2)
    expected = np.sqrt(2 * tip**2 + 2 * 0.015**2 + (LENGTH_REL_UNC * 0.35) ** 2 + 0.01**2)
    assert g.length.unc_m == pytest.approx(expected, rel=1e-6)
    assert g.length.significant
    assert g.length.rate_unc_mm_day == pytest.approx(1000 * expected / 7)


def test_change_below_the_noise_floor_is_not_significant() -> None:
    g = track_growth([crack(2.0)], [crack(2.02)], 7.0, registration_unc_m=0.01, tip_noise_m=0.015)
    assert not g.length.significant
    assert not g.significant


def test_merged_cracks_are_summed() -> None:
    g = track_growth([crack(1.0), crack(0.8)], [crack(2.0)], 10.0, 0.0)
    assert g.length.delta_m == pytest.approx(0.2)


def test_empirical_noise_floor_ignores_a_few_growing_cracks() -> None:
    rng = np.random.default_rng(0)
    growths = [track_growth([crack(2.0)], [crack(2.0 + d)], 7.0, 0.0) for d in rng.normal(0, 0.05, 12)]
    growths.append(track_growth([crack(2.0)], [crack(3.0)], 7.0, 0.0))
    floor = empirical_noise(growths, min_tracks=5)
    assert floor is not None
    assert 0.02 < floor.length_m < 0.09
    noisy = apply_noise_floor(growths[0], floor)
    assert noisy.length.unc_m >= floor.length_m
    assert apply_noise_floor(growths[-1], floor).length.significant
    assert empirical_noise(growths[:3], min_tracks=5) is None


def test_acceleration_from_two_rates() -> None:
    a = acceleration(10.0, 1.0, 3.5, 24.0, 1.0, 10.5)
    assert a.value == pytest.approx(2.0)
    assert a.significant


def test_inverse_velocity_recovers_a_known_failure_time() -> None:
    # v(t) = A / (tf - t): 1/v is linear and reaches zero at tf = 40 days.
    tf, A = 40.0, 400.0
    mids = [3.5, 10.5, 17.5, 24.5]
    rates = [A / (tf - t) for t in mids]
    origin = date(2026, 5, 1)
    est = inverse_velocity(origin, mids, rates, [0.3] * 4)
    assert est is not None
    assert abs((est.when - (origin + timedelta(days=tf))).days) <= 1
    assert est.low <= est.when <= est.high
    assert est.confidence > 0.9


def test_inverse_velocity_refuses_decelerating_cracks() -> None:
    assert inverse_velocity(date(2026, 5, 1), [3.5, 10.5], [30.0, 10.0], [1.0, 1.0]) is None
    assert inverse_velocity(date(2026, 5, 1), [3.5], [30.0], [1.0]) is None


def test_extension_beyond_footprint_ignores_pieces_and_credits_tips() -> None:
    from shapely.geometry import LineString, MultiLineString

    whole = LineString([(0, 0), (2.0, 0)])
    pieces = MultiLineString([[(0, 0.005), (0.9, 0.005)], [(1.1, -0.004), (2.0, -0.004)]])
    tol = 0.03
    # the same crack found in two pieces, or found whole after being seen in pieces: no extension
    assert extension_beyond(pieces, whole, tol).length_m == 0.0
    # the 0.2 m gap was never seen: 0.14 m beyond the band, credited 0.03 m for the band it left
    assert extension_beyond(whole, pieces, tol).length_m == pytest.approx(0.17, abs=0.002)
    assert extension_beyond(whole, MultiLineString([whole.coords, pieces.geoms[0].coords]), tol).length_m == 0.0
    # a tip moving on by 0.25 m: the part beyond the band plus the band it crossed
    grown = LineString([(0, 0), (2.25, 0)])
    assert extension_beyond(grown, whole, tol).length_m == pytest.approx(0.25, abs=1e-9)
    # both tips move on; a crack with no earlier detection counts whole
    assert extension_beyond(LineString([(-0.1, 0), (2.1, 0)]), whole, tol).length_m == pytest.approx(0.2)
    assert extension_beyond(whole, None, tol).length_m == pytest.approx(2.0)
    assert extension_beyond(whole, None, tol).ends == 2 and extension_beyond(grown, whole, tol).ends == 1
    assert extension_beyond(LineString([(-0.1, 0), (2.1, 0)]), whole, tol).ends == 2
    # a stable tip jittering inside the band does not extend
    assert extension_beyond(LineString([(0, 0.01), (2.02, 0.01)]), whole, tol).length_m == 0.0


def test_growth_uses_footprint_extension_for_alerts() -> None:
    # detection lost half the crack last time, finds it whole now: length "grows", extension does not
    g = track_growth([crack(1.0)], [crack(2.0)], 7.0, registration_unc_m=0.002, extension_m=0.0)
    assert g.length.significant and g.length.delta_m == pytest.approx(1.0)
    assert not g.extension.significant and g.extension.delta_m == 0.0
    g = track_growth([crack(2.0)], [crack(2.3)], 7.0, registration_unc_m=0.002, extension_m=0.3)
    assert g.extension.significant and g.extension.rate_mm_day == pytest.approx(300 / 7)


def test_extension_over_many_tips_carries_each_tips_noise() -> None:
    """Nine tips each jittering 4 cm: 0.36 m in all, but within the noise of nine tips."""
    one = track_growth([crack(2.0)], [crack(2.36)], 7.0, 0.002, tip_noise_m=0.05, extension_m=0.36)
    nine = track_growth([crack(2.0)], [crack(2.36)], 7.0, 0.002, tip_noise_m=0.05, extension_m=0.36, extension_ends=9)
    assert one.extension.significant and not nine.extension.significant
    assert nine.extension.unc_m > 2.5 * one.extension.unc_m > 0


def test_side_spurs_are_not_extension_but_long_branches_are() -> None:
    from shapely.geometry import LineString, MultiLineString

    old = LineString([(0, 0), (2.0, 0)])
    spur = MultiLineString([old.coords, [(1.0, 0), (1.0, 0.06)]])  # 6 cm spur off the middle
    branch = MultiLineString([old.coords, [(1.0, 0), (1.0, 0.4)]])
    assert extension_beyond(spur, old, 0.03, min_branch_m=0.1).length_m == 0.0
    assert extension_beyond(branch, old, 0.03, min_branch_m=0.1).length_m == pytest.approx(0.37, abs=1e-6)
    # a tip moving on is counted however short
    assert extension_beyond(LineString([(0, 0), (2.05, 0)]), old, 0.03, min_branch_m=0.1).length_m == pytest.approx(
        0.05
    )
    # ... unless it moved less than its significance level: then it did not measurably move
    assert extension_beyond(LineString([(0, 0), (2.05, 0)]), old, 0.03, min_tip_move_m=0.07).length_m == 0.0
    moved = extension_beyond(LineString([(0, 0), (2.08, 0)]), old, 0.03, min_tip_move_m=0.07)
    assert moved.length_m == pytest.approx(0.08) and moved.ends == 1


def test_parts_seen_in_earlier_imagery_are_taken_off_the_extension() -> None:
    from shapely.geometry import LineString

    old = LineString([(0, 0), (2.0, 0)])
    grown = LineString([(0, 0), (2.5, 0)])  # 0.47 m beyond the band, 0.5 m credited
    seen_far = LineString([(2.2, 0), (2.5, 0)]).buffer(1e-4)
    assert extension_beyond(grown, old, 0.03, seen=seen_far).length_m == pytest.approx(0.2, abs=1e-3)
    # a piece seen whole counts nothing, tip credit included
    assert extension_beyond(grown, old, 0.03, seen=LineString([(2.0, 0), (2.5, 0)]).buffer(1e-4)).length_m == 0.0
    # a crack with no earlier detection: only its unseen part
    assert extension_beyond(grown, None, 0.03, seen=seen_far).length_m == pytest.approx(2.2, abs=1e-3)


def test_a_side_branch_counts_by_its_unseen_remainder() -> None:
    from shapely.geometry import LineString

    old = LineString([(0, 0), (2.0, 0)])
    branch = LineString([(1.0, 0), (1.0, 0.4)])
    # 0.37 m beyond the band, of which earlier imagery showed all but 5 cm: a spur's length
    seen_branch = LineString([(1.0, 0.0), (1.0, 0.35)]).buffer(1e-4)
    assert extension_beyond(branch, old, 0.03, min_branch_m=0.1, seen=seen_branch).length_m == 0.0
    seen_less = LineString([(1.0, 0.0), (1.0, 0.2)]).buffer(1e-4)
    assert extension_beyond(branch, old, 0.03, min_branch_m=0.1, seen=seen_less).length_m == pytest.approx(
        0.2, abs=1e-3
    )


def test_a_line_delineated_alongside_is_no_extension() -> None:
    from shapely.geometry import LineString

    old = LineString([(0, 0), (2, 0)])
    beside = LineString([(0.2, 0.08), (1.8, 0.08)])  # the same crack (or a moving shadow edge) 8 cm to the side
    assert extension_beyond(beside, old, 0.03).length_m == pytest.approx(1.6)  # without the alongside rule
    assert extension_beyond(beside, old, 0.03, alongside_m=0.15).length_m == 0.0
    ahead = LineString([(2.1, 0.02), (2.6, 0.02)])  # a fragment ahead of the tip still counts in full
    assert extension_beyond(ahead, old, 0.03, alongside_m=0.15).length_m == pytest.approx(0.5)
    overhanging = LineString([(1.5, 0.08), (2.5, 0.08)])  # only its part beyond the old tip counts
    assert extension_beyond(overhanging, old, 0.03, alongside_m=0.15).length_m == pytest.approx(0.5)


def test_line_shift_tells_a_fixed_crack_from_a_moving_line() -> None:
    from shapely.geometry import LineString

    from geowarn.tracking.growth import line_shift

    old = LineString([(0, 0), (2, 0)])
    assert line_shift(LineString([(0, 0.004), (2.3, 0.004)]), old, 0.15, 0.01) == pytest.approx(0.004)
    assert line_shift(LineString([(0, 0.08), (2, 0.08)]), old, 0.15, 0.01) == pytest.approx(0.08)
    assert line_shift(LineString([(0, 0.5), (2, 0.5)]), old, 0.15, 0.01) is None


def test_the_tip_of_a_wide_dark_band_is_vague() -> None:
    def grown(width: float) -> bool:
        before, after = [crack(4.0, width, 0.02)], [crack(4.25, width, 0.02)]
        g = track_growth(before, after, 7.0, 0.0, tip_noise_m=0.05, extension_m=0.25, tip_width_share=0.5)
        return g.extension.significant

    assert grown(0.01)
    assert not grown(0.30)
