"""What tracking tells the assessment: new cracks per zone from the new pieces beyond the footprint."""

from shapely.geometry import LineString, box

from geowarn.assess.settings import AssessmentSettings, Zone
from geowarn.assess.signals import SITE_ZONE, count_new_cracks
from geowarn.tracking.footprint import Footprint, fresh_pieces


def test_new_crack_pieces_cluster_and_redetections_do_not_count() -> None:
    old = LineString([(0, 0), (3, 0)])
    footprint = Footprint([old], tolerance_m=0.03)
    settings = AssessmentSettings(min_new_crack_length_m=0.3, new_crack_cluster_m=0.3)
    zoned = settings.model_copy(update={"zones": [Zone(name="scarp", wkt=box(10, -1, 20, 1).wkt)]})
    lines = [
        LineString([(0.5, 0.01), (2.5, 0.01)]),  # the old crack found again: not new
        LineString([(5, 0), (5.4, 0)]),  # one new crack in three pieces with small gaps
        LineString([(5.5, 0), (5.9, 0)]),
        LineString([(6.0, 0.02), (6.4, 0.02)]),
        LineString([(12, 0), (12.5, 0)]),  # a new crack in the zone
        LineString([(15, 0), (15.1, 0)]),  # too short to count
    ]
    assert count_new_cracks(fresh_pieces(lines, footprint), zoned) == {SITE_ZONE: 1, "scarp": 1}
    assert count_new_cracks([], zoned) == {SITE_ZONE: 0, "scarp": 0}


def test_only_unseen_parts_beyond_the_footprint_make_new_cracks() -> None:
    old = LineString([(0, 0), (3, 0)])
    settings = AssessmentSettings(min_new_crack_length_m=0.3, new_crack_cluster_m=0.3)
    faint = LineString([(5, 0), (5.8, 0)])  # delineated now, but earlier imagery showed 0.6 m of it
    assert count_new_cracks(fresh_pieces([faint], Footprint([old], 0.03)), settings) == {SITE_ZONE: 1}
    seen = Footprint([old], 0.03).with_seen([LineString([(5.2, 0), (5.8, 0)])])
    assert count_new_cracks(fresh_pieces([faint], seen), settings) == {SITE_ZONE: 0}
    # a re-detection running on past the old crack: only the part beyond counts
    assert count_new_cracks(fresh_pieces([LineString([(1, 0), (3.2, 0)])], Footprint([old], 0.03)), settings) == {
        SITE_ZONE: 0
    }
    assert count_new_cracks(fresh_pieces([LineString([(1, 0), (3.5, 0)])], Footprint([old], 0.03)), settings) == {
        SITE_ZONE: 1
    }
