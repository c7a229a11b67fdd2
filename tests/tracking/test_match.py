from shapely.geometry import LineString, MultiLineString, Point

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


JOIN = TrackingParams(buffer_m=0.15, join_gap_m=0.15)


def test_a_piece_starting_just_beyond_a_tip_continues_that_crack() -> None:
    tracks = {1: shape(10, (0, 0), (2, 0))}
    grown = [shape(20, (0, 0.01), (2, 0.01)), shape(21, (2.08, 0.02), (2.6, 0.05))]
    a = match_cracks(tracks, grown, JOIN)
    assert a.continued == {20: 1} and a.joined == {21: 1} and a.new == []
    off = match_cracks(tracks, grown, TrackingParams(buffer_m=0.15))  # join_gap_m 0: off
    assert off.joined == {} and off.new == [21]


def test_a_piece_beyond_a_joined_piece_joins_the_same_track() -> None:
    tracks = {1: shape(10, (0, 0), (2, 0))}
    grown = [shape(20, (0, 0), (2, 0)), shape(22, (2.7, 0), (3.2, 0)), shape(21, (2.1, 0), (2.6, 0))]
    assert match_cracks(tracks, grown, JOIN).joined == {21: 1, 22: 1}


def test_pieces_beside_behind_across_or_far_from_a_tip_stay_new() -> None:
    tracks = {1: shape(10, (0, 0), (2, 0))}
    pieces = [
        shape(21, (1.9, 0.4), (2.5, 0.4)),  # parallel, 0.4 m to the side
        shape(22, (2.05, 0.1), (2.05, 0.8)),  # across the tip's direction
        shape(23, (2.4, 0), (3, 0)),  # in line, but 0.4 m beyond the tip
        shape(24, (1.95, -0.08), (1.2, -0.4)),  # starting 9 cm from the tip but running back along the crack
    ]
    a = match_cracks(tracks, [shape(20, (0, 0), (2, 0)), *pieces], JOIN)
    assert a.joined == {} and sorted(a.new) == [21, 22, 23, 24]


def test_a_forked_blunt_tip_still_takes_the_piece_beyond_it() -> None:
    # A crack whose skeleton forks at its blunt end; the growth, segmented apart, starts between the branches.
    fork = MultiLineString(
        [[(1.8, -4.57), (1.53, -4.56), (1.06, -4.72)], [(1.06, -4.72), (0.96, -4.68)], [(1.06, -4.72), (1.04, -4.80)]]
    )
    tracks = {10: CrackShape(1, fork, fork.length)}
    piece = shape(21, (0.44, -4.735), (0.93, -4.755))
    a = match_cracks(tracks, [CrackShape(2, fork, fork.length), piece], JOIN)
    assert a.continued == {2: 10} and a.joined == {21: 10}


def test_a_piece_with_intact_ground_before_it_stays_new() -> None:
    tracks = {1: shape(10, (0, 0), (2, 0))}
    grown = [shape(20, (0, 0), (2, 0)), shape(21, (2.1, 0), (2.6, 0))]
    asked: list[tuple[tuple[float, float], tuple[float, float]]] = []

    def intact(a: Point, b: Point) -> bool:
        asked.append(((a.x, a.y), (b.x, b.y)))
        return False

    a = match_cracks(tracks, grown, JOIN, intact)
    assert a.joined == {} and a.new == [21]
    assert asked == [((2.0, 0.0), (2.1, 0.0))]  # the gap from the tip to the piece's near end


def test_a_piece_takes_the_nearest_tip_whose_gap_shows_crack() -> None:
    # Two cracks end near the piece; the gap to the nearer one is intact ground, the other's is crack.
    tracks = {1: shape(10, (0, 0), (2, 0)), 2: shape(11, (0, 0.6), (1.98, 0.08))}
    cracks = [shape(20, (0, 0), (2, 0)), shape(21, (0, 0.6), (1.98, 0.08)), shape(22, (2.1, 0.02), (2.6, 0.02))]
    nearest = match_cracks(tracks, cracks, JOIN)
    assert nearest.joined == {22: 1}
    checked = match_cracks(tracks, cracks, JOIN, lambda a, b: a.x < 1.99)
    assert checked.joined == {22: 2}
