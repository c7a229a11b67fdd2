import pytest
from shapely.geometry import LineString

from geowarn.tracking.footprint import Footprint


def test_footprint_extension_uses_only_nearby_earlier_lines() -> None:
    footprint = Footprint([LineString([(0, 0), (1, 0)]), LineString([(0, 5), (9, 5)])], tolerance_m=0.02)
    grown = LineString([(0, 0), (1.5, 0)])
    with_seen, without = footprint.extensions(grown)
    assert with_seen.length_m == without.length_m == pytest.approx(0.5)
    assert footprint.near(LineString([(50, 50), (51, 50)])) is None
    seen = footprint.with_seen([LineString([(1.1, 0), (1.5, 0)])])
    with_seen, without = seen.extensions(grown)
    assert without.length_m == pytest.approx(0.5) and with_seen.length_m == pytest.approx(0.1, abs=0.01)
