"""Look-back at earlier imagery: which parts of new-looking pieces an earlier survey already showed."""

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from rasterio.transform import from_origin
from shapely import LineString, MultiLineString

from geowarn.tracking.lookback import EarlierImage, ImageLookback, LookbackSettings
from tests.conftest import write_geotiff

GSD = 0.01
ORIGIN = (500000.0, 5200000.0)


class GreyProbability:
    """Stand-in segmenter: crack probability falls linearly from black (1) to grey 200 (0)."""

    def __init__(self) -> None:
        self.calls = 0

    def segment(self, tiles: np.ndarray, batch: int) -> np.ndarray:
        self.calls += 1
        grey = tiles.astype(np.float32).mean(axis=3)
        return np.clip((200.0 - grey) / 200.0, 0.0, 1.0)


def earlier_image(path: Path, segments: list[tuple[tuple[int, int], tuple[int, int], int]], size: int = 256) -> Path:
    """Light ground (grey 190) with lines of the given grey between pixel points."""
    rgb = np.full((size, size, 3), 190, np.uint8)
    for (x0, y0), (x1, y1), grey in segments:
        cv2.line(rgb, (x0, y0), (x1, y1), (grey, grey, grey), 3)
    return write_geotiff(path, np.ascontiguousarray(rgb.transpose(2, 0, 1)), transform=from_origin(*ORIGIN, GSD, GSD))


def site_line(px: list[tuple[float, float]], frame: tuple[float, float] = (0.0, 0.0)) -> LineString:
    """Pixel points of the earlier image as a site-frame line (site = survey + frame)."""
    return LineString([(ORIGIN[0] + (x + 0.5) * GSD + frame[0], ORIGIN[1] - (y + 0.5) * GSD + frame[1]) for x, y in px])


def lookback(cascade: GreyProbability, threshold: float = 0.35) -> ImageLookback:
    return ImageLookback(cascade, LookbackSettings(radius_px=3.0, prob_threshold=threshold))  # type: ignore[arg-type]


def test_only_the_part_the_earlier_image_showed_is_seen(tmp_path: Path) -> None:
    # a faint line (grey 110, probability 0.45) from x=40 to x=140; the piece runs on to x=220
    image = EarlierImage(1, earlier_image(tmp_path / "s1.tif", [((40, 100), (140, 100), 110)]), 0.0, 0.0)
    piece = site_line([(40, 100), (220, 100)])
    seen = lookback(GreyProbability()).seen_before(piece, [image], 0.5 * GSD)
    assert len(seen) == 1
    # 100 px seen, plus at most the 3-px look radius (and the 1.5-px half line width) beyond its end
    assert 1.0 <= seen[0].length <= 1.0 + 5 * GSD
    assert seen[0].coords[0][0] == pytest.approx(piece.coords[0][0], abs=GSD)


def test_a_line_fainter_than_the_threshold_is_not_seen(tmp_path: Path) -> None:
    image = EarlierImage(1, earlier_image(tmp_path / "s1.tif", [((40, 100), (140, 100), 150)]), 0.0, 0.0)  # p = 0.25
    assert lookback(GreyProbability()).seen_before(site_line([(40, 100), (140, 100)]), [image], 0.5 * GSD) == []


def test_the_earlier_surveys_frame_shift_is_applied(tmp_path: Path) -> None:
    frame = (0.37, -0.21)  # the earlier survey sits 37 px east and 21 px south of its nominal place in the site frame
    image = EarlierImage(1, earlier_image(tmp_path / "s1.tif", [((40, 100), (140, 100), 60)]), *frame)
    cascade = GreyProbability()
    assert len(lookback(cascade).seen_before(site_line([(40, 100), (140, 100)], frame), [image], 0.5 * GSD)) == 1
    unshifted = EarlierImage(1, image.path, 0.0, 0.0)
    assert lookback(cascade).seen_before(site_line([(40, 100), (140, 100)], frame), [unshifted], 0.5 * GSD) == []


def test_any_earlier_survey_counts_and_nearby_pieces_share_one_read(tmp_path: Path) -> None:
    first = EarlierImage(1, earlier_image(tmp_path / "s1.tif", [((40, 60), (100, 60), 60)]), 0.0, 0.0)
    second = EarlierImage(2, earlier_image(tmp_path / "s2.tif", [((40, 80), (100, 80), 60)]), 0.0, 0.0)
    pieces = MultiLineString([site_line([(40, 60), (100, 60)]).coords, site_line([(40, 80), (100, 80)]).coords])
    cascade = GreyProbability()
    seen = lookback(cascade).seen_before(pieces, [first, second], 0.5 * GSD)
    assert sorted(round(s.length, 2) for s in seen) == [0.6, 0.6]
    assert cascade.calls == 2  # one window per earlier image for both pieces


def test_pieces_outside_or_unreadable_images_are_not_seen(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    image = EarlierImage(1, earlier_image(tmp_path / "s1.tif", [((40, 100), (140, 100), 60)]), 0.0, 0.0)
    outside = site_line([(400, 100), (500, 100)])
    cascade = GreyProbability()
    assert lookback(cascade).seen_before(outside, [image], 0.5 * GSD) == []
    assert cascade.calls == 0
    gone = EarlierImage(7, tmp_path / "moved.tif", 0.0, 0.0)
    with caplog.at_level(logging.WARNING, logger="geowarn.tracking.lookback"):
        assert lookback(cascade).seen_before(site_line([(40, 100), (140, 100)]), [gone], 0.5 * GSD) == []
    assert "survey 7" in caplog.text and "moved.tif" in caplog.text


def test_short_gaps_are_bridged_and_points_beside_a_mapped_crack_follow_the_points_beyond(tmp_path: Path) -> None:
    # faint line from x=40 to 140 with an 8-px hole at 90; a mapped crack ends at x=30
    image = earlier_image(tmp_path / "s1.tif", [((40, 100), (86, 100), 110), ((94, 100), (140, 100), 110)])
    piece = site_line([(34, 100), (140, 100)])
    mapped = site_line([(0, 100), (30, 100)])
    settings = LookbackSettings(radius_px=1.0, prob_threshold=0.35, exclude_near_m=10 * GSD, gap_m=10 * GSD)
    lookback = ImageLookback(GreyProbability(), settings)  # type: ignore[arg-type]
    seen = lookback.seen_before(piece, [EarlierImage(1, image, 0.0, 0.0)], 0.5 * GSD, mapped)
    assert len(seen) == 1  # one stretch: the hole is bridged, and the start follows the line beyond it
    assert seen[0].coords[0][0] == pytest.approx(piece.coords[0][0], abs=0.5 * GSD)
    assert seen[0].coords[-1][0] == pytest.approx(ORIGIN[0] + 141 * GSD, abs=1.5 * GSD)
    unbridged = LookbackSettings(radius_px=1.0, prob_threshold=0.35)
    parts = ImageLookback(GreyProbability(), unbridged).seen_before(piece, [EarlierImage(1, image, 0, 0)], 0.005)  # type: ignore[arg-type]
    assert len(parts) == 2
    # only the old crack's own end (to x=36) shows in the earlier image: the piece going on is not seen
    old_end = earlier_image(tmp_path / "s0.tif", [((0, 100), (36, 100), 60)])
    assert lookback.seen_before(piece, [EarlierImage(1, old_end, 0.0, 0.0)], 0.5 * GSD, mapped) == []


def uniform_image(
    path: Path, ground: int, segments: list[tuple[tuple[int, int], tuple[int, int], int]], grain: float = 0.0
) -> Path:
    """Ground of grey ``ground`` (seeded grain of sigma ``grain``) with lines of the given grey."""
    noise = np.random.default_rng(3).normal(0.0, grain, (256, 256, 1)) if grain else np.zeros((256, 256, 1))
    rgb = np.clip(ground + noise, 0, 255).repeat(3, axis=2).astype(np.uint8)
    for (x0, y0), (x1, y1), grey in segments:
        cv2.line(rgb, (x0, y0), (x1, y1), (grey, grey, grey), 3)
    return write_geotiff(path, np.ascontiguousarray(rgb.transpose(2, 0, 1)), transform=from_origin(*ORIGIN, GSD, GSD))


def test_earlier_windows_are_judged_in_the_current_light(tmp_path: Path) -> None:
    # earlier survey in harsh light: the crack is grey 170 on 235 ground (probability 0.15, unseen);
    # the current survey shows it at 60 on 190 ground. Matched to the current light, it was there.
    earlier = EarlierImage(1, uniform_image(tmp_path / "s1.tif", 235, [((40, 100), (140, 100), 170)]), 0.0, 0.0)
    current = EarlierImage(2, uniform_image(tmp_path / "s2.tif", 190, [((40, 100), (140, 100), 60)]), 0.0, 0.0)
    piece = site_line([(40, 100), (140, 100)])
    settings = LookbackSettings(radius_px=1.0, prob_threshold=0.35)
    assert ImageLookback(GreyProbability(), settings).seen_before(piece, [earlier], 0.005) == []  # type: ignore[arg-type]
    seen = ImageLookback(GreyProbability(), settings, current).seen_before(piece, [earlier], 0.005)  # type: ignore[arg-type]
    assert len(seen) == 1 and seen[0].length == pytest.approx(1.0, abs=3 * GSD)
    # a crack that is new in the current survey is not invented in earlier ground by the matching
    blank = EarlierImage(3, uniform_image(tmp_path / "s0.tif", 235, []), 0.0, 0.0)
    assert ImageLookback(GreyProbability(), settings, current).seen_before(piece, [blank], 0.005) == []  # type: ignore[arg-type]


class BlindSegmenter:
    """Stand-in segmenter that finds no crack anywhere (a crack missed under some light)."""

    def segment(self, tiles: np.ndarray, batch: int) -> np.ndarray:
        return np.zeros(tiles.shape[:3], np.float32)


def test_a_line_the_earlier_imagery_shows_is_seen_even_where_the_segmenter_missed_it(tmp_path: Path) -> None:
    # current survey: a dark line from x=40 to 200; the earlier, darker survey shows it to x=120 only
    current = EarlierImage(
        2, uniform_image(tmp_path / "s2.tif", 190, [((40, 100), (200, 100), 70)], grain=12.0), 0.0, 0.0
    )
    earlier = EarlierImage(
        1, uniform_image(tmp_path / "s1.tif", 120, [((40, 100), (120, 100), 45)], grain=12.0), 0.0, 0.0
    )
    piece = site_line([(40, 100), (200, 100)])
    settings = LookbackSettings(radius_px=1.0, prob_threshold=0.35, line_ratio=0.5, line_smooth_m=5 * GSD)
    seen = ImageLookback(BlindSegmenter(), settings, current).seen_before(piece, [earlier], 0.5 * GSD)  # type: ignore[arg-type]
    assert len(seen) == 1
    assert seen[0].coords[0][0] == pytest.approx(piece.coords[0][0], abs=GSD)
    assert seen[0].coords[-1][0] == pytest.approx(ORIGIN[0] + 120.5 * GSD, abs=4 * GSD)  # the grown part is not
    off = LookbackSettings(radius_px=1.0, prob_threshold=0.35, line_ratio=0.0)
    assert ImageLookback(BlindSegmenter(), off, current).seen_before(piece, [earlier], 0.5 * GSD) == []  # type: ignore[arg-type]
    # without the current image there is nothing to compare with
    assert ImageLookback(BlindSegmenter(), settings).seen_before(piece, [earlier], 0.5 * GSD) == []  # type: ignore[arg-type]


def test_parts_without_a_line_in_the_current_imagery_are_found(tmp_path: Path) -> None:
    # the segmenter delineated x=40..200, but the current imagery shows a dark line only to x=120
    current = EarlierImage(2, uniform_image(tmp_path / "s2.tif", 190, [((40, 100), (120, 100), 70)], grain=6.0), 0, 0)
    piece = site_line([(40, 100), (200, 100)])
    settings = LookbackSettings(
        radius_px=1.0, prob_threshold=0.35, gap_m=10 * GSD, line_smooth_m=5 * GSD, line_min_now=0.1
    )
    faint = ImageLookback(BlindSegmenter(), settings, current).without_line(piece, 0.5 * GSD)  # type: ignore[arg-type]
    assert len(faint) == 1
    assert faint[0].coords[0][0] == pytest.approx(ORIGIN[0] + 120.5 * GSD, abs=4 * GSD)
    assert faint[0].coords[-1][0] == pytest.approx(piece.coords[-1][0], abs=3 * GSD)
    off = LookbackSettings(radius_px=1.0, prob_threshold=0.35, line_min_now=0.0)
    assert ImageLookback(BlindSegmenter(), off, current).without_line(piece, 0.5 * GSD) == []  # type: ignore[arg-type]
    # both questions in one pass give the same answers
    both = ImageLookback(BlindSegmenter(), settings, current)  # type: ignore[arg-type]
    earlier = [EarlierImage(1, uniform_image(tmp_path / "s1.tif", 120, [((40, 100), (80, 100), 45)], grain=6.0), 0, 0)]
    seen, no_line = both.discounted(piece, earlier, 0.5 * GSD)
    assert no_line == faint and seen == both.seen_before(piece, earlier, 0.5 * GSD) and seen == []
    line_settings = LookbackSettings(
        radius_px=1.0, prob_threshold=0.35, gap_m=10 * GSD, line_ratio=0.5, line_smooth_m=5 * GSD, line_min_now=0.1
    )
    both = ImageLookback(BlindSegmenter(), line_settings, current)  # type: ignore[arg-type]
    seen, no_line = both.discounted(piece, earlier, 0.5 * GSD)
    assert no_line == faint and seen == both.seen_before(piece, earlier, 0.5 * GSD)
    assert seen[0].coords[-1][0] == pytest.approx(ORIGIN[0] + 80.5 * GSD, abs=4 * GSD)  # the earlier line's end
    assert ImageLookback(BlindSegmenter(), settings).without_line(piece, 0.5 * GSD) == []  # type: ignore[arg-type]


def test_a_short_piece_at_a_mapped_crack_end_is_judged_by_its_own_line(tmp_path: Path) -> None:
    # a mapped crack ends at x=36; the new-looking piece x=40..46 lies wholly within the exclusion
    # distance of that end, where the probability test has no points of its own to go by
    current = EarlierImage(2, uniform_image(tmp_path / "s2.tif", 190, [((0, 100), (100, 100), 70)], grain=6.0), 0, 0)
    was_there = uniform_image(tmp_path / "s1.tif", 120, [((0, 100), (100, 100), 45)], grain=6.0)
    grew = uniform_image(tmp_path / "s0.tif", 120, [((0, 100), (36, 100), 45)], grain=6.0)
    piece, mapped = site_line([(40, 100), (46, 100)]), site_line([(0, 100), (36, 100)])
    settings = LookbackSettings(
        radius_px=1.0, prob_threshold=0.35, exclude_near_m=10 * GSD, line_ratio=0.5, line_smooth_m=5 * GSD
    )
    lookback = ImageLookback(BlindSegmenter(), settings, current)  # type: ignore[arg-type]
    seen = lookback.seen_before(piece, [EarlierImage(1, was_there, 0, 0)], 0.5 * GSD, mapped)
    assert len(seen) == 1 and seen[0].length == pytest.approx(piece.length, abs=GSD)
    assert lookback.seen_before(piece, [EarlierImage(1, grew, 0, 0)], 0.5 * GSD, mapped) == []
