from shapely.geometry import LineString

from geowarn.tracking.match import CrackShape, TrackingParams, axial_difference, match_cracks


def shape(key: int, *coords: tuple[float, float]) -> CrackShape:
    line = LineString(coords)
    return CrackShape(key, line, line.length)


def test_growing_crack_keeps_its_track_and_unmatched_ones_are_new_or_missing() -> None:
    tracks = {1: shape(10, (0, 0), (2, 0)), 2: shape(11, (0, 5), (1, 5))}
    cracks = [shape(20, (0, 0.05), (3, 0.05)), shape(21, (10, 10), (12, 12))]
    a = match_cracks(tracks, cracks)
    assert a.continued == {20: 1}
    assert a.new == [21]
    assert a.missing == [2]


def test_perpendicular_crack_is_not_the_same_crack() -> None:
    tracks = {1: shape(10, (0, 0), (2, 0))}
    cracks = [shape(20, (1, -1), (1, 1))]
    a = match_cracks(tracks, cracks, TrackingParams(buffer_m=0.15))
    assert a.continued == {}
    assert a.new == [20]


def test_split_gives_a_child_track_and_merge_retires_a_track() -> None:
    split = match_cracks({1: shape(10, (0, 0), (4, 0))}, [shape(20, (0, 0), (2.5, 0)), shape(21, (2.7, 0), (4, 0))])
    assert split.continued == {20: 1}
    assert split.split_from == {21: 1}
    merge = match_cracks({1: shape(10, (0, 0), (2.5, 0)), 2: shape(11, (2.7, 0), (4, 0))}, [shape(20, (0, 0), (4, 0))])
    assert merge.continued == {20: 1}
    assert merge.merged_into == {2: 1}


def test_axial_difference_wraps() -> None:
    assert axial_difference(10, 190) == 0
    assert axial_difference(5, 175) == 10
