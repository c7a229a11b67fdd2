import pytest
from shapely.geometry import LineString, box

from geowarn.assess.settings import Rules, Zone
from geowarn.tracking.step import SITE_ZONE, Footprint, count_new_cracks


def test_new_crack_pieces_cluster_and_redetections_do_not_count() -> None:
    old = LineString([(0, 0), (3, 0)])
    footprint = Footprint([old], tolerance_m=0.03)
    rules = Rules(min_new_crack_length_m=0.3, new_crack_cluster_m=0.3)
    zones = [("scarp", box(10, -1, 20, 1))]
    lines = [
        LineString([(0.5, 0.01), (2.5, 0.01)]),  # the old crack found again: not new
        LineString([(5, 0), (5.4, 0)]),  # one new crack in three pieces with small gaps
        LineString([(5.5, 0), (5.9, 0)]),
        LineString([(6.0, 0.02), (6.4, 0.02)]),
        LineString([(12, 0), (12.5, 0)]),  # a new crack in the zone
        LineString([(15, 0), (15.1, 0)]),  # too short to count
    ]
    assert count_new_cracks(lines, footprint, rules, zones) == {SITE_ZONE: 1, "scarp": 1}
    assert count_new_cracks([], footprint, rules, zones) == {SITE_ZONE: 0, "scarp": 0}
    assert Zone(name="scarp", wkt=box(10, -1, 20, 1).wkt)  # zones as configured parse the same WKT


def test_footprint_extension_uses_only_nearby_earlier_lines() -> None:
    footprint = Footprint([LineString([(0, 0), (1, 0)]), LineString([(0, 5), (9, 5)])], tolerance_m=0.02)
    grown = LineString([(0, 0), (1.5, 0)])
    with_seen, without = footprint.extensions(grown)
    assert with_seen.length_m == without.length_m == pytest.approx(0.5)
    assert footprint.near(LineString([(50, 50), (51, 50)])) is None
    seen = footprint.with_seen([LineString([(1.1, 0), (1.5, 0)])])
    with_seen, without = seen.extensions(grown)
    assert without.length_m == pytest.approx(0.5) and with_seen.length_m == pytest.approx(0.1, abs=0.01)


def test_only_unseen_parts_beyond_the_footprint_make_new_cracks() -> None:
    old = LineString([(0, 0), (3, 0)])
    rules = Rules(min_new_crack_length_m=0.3, new_crack_cluster_m=0.3)
    faint = LineString([(5, 0), (5.8, 0)])  # delineated now, but earlier imagery showed 0.6 m of it
    assert count_new_cracks([faint], Footprint([old], 0.03), rules, []) == {SITE_ZONE: 1}
    seen = Footprint([old], 0.03).with_seen([LineString([(5.2, 0), (5.8, 0)])])
    assert count_new_cracks([faint], seen, rules, []) == {SITE_ZONE: 0}
    # a re-detection running on past the old crack: only the part beyond counts
    assert count_new_cracks([LineString([(1, 0), (3.2, 0)])], Footprint([old], 0.03), rules, []) == {SITE_ZONE: 0}
    assert count_new_cracks([LineString([(1, 0), (3.5, 0)])], Footprint([old], 0.03), rules, []) == {SITE_ZONE: 1}
