from datetime import date

from geowarn.assess.levels import Previous, TrackSignal, evaluate
from geowarn.assess.settings import AssessmentSettings
from geowarn.tracking.growth import FailureEstimate

DAY = date(2026, 6, 1)
RULES = AssessmentSettings()


def sig(track: int, ext: float | None = None, opening: float | None = None, failure=None) -> TrackSignal:
    return TrackSignal(track, ext, 1.0, opening, 0.1, failure)


def prev(level: str, tracks: dict[int, str] | None = None, candidate: str | None = None) -> Previous:
    return Previous(level, candidate or level, tracks or {}, {})


def test_quiet_site_is_green() -> None:
    d = evaluate(RULES, DAY, [sig(1, None)], {"site": 0}, [], "green")
    assert (d.level, d.raw) == ("green", "green")
    assert "no significant" in d.reasons[0]


def test_yellow_is_immediate_orange_needs_persistence() -> None:
    d = evaluate(RULES, DAY, [sig(1, 8.0)], {}, [], "green")
    assert d.level == "yellow"
    first = evaluate(RULES, DAY, [sig(1, 30.0)], {}, [], "green")
    assert (first.raw, first.level) == ("orange", "yellow")
    assert any("awaits confirmation" in r for r in first.reasons)
    second = evaluate(RULES, DAY, [sig(1, 30.0)], {}, [prev("yellow", {1: "orange"})], "yellow")
    assert second.level == "orange"


def test_two_cracks_agreeing_confirm_at_once() -> None:
    d = evaluate(RULES, DAY, [sig(1, 60.0), sig(2, 55.0)], {}, [], "green")
    assert d.level == "red"


def test_opening_rate_counts() -> None:
    d = evaluate(RULES, DAY, [sig(1, None, opening=1.5)], {}, [], "green")
    assert d.level == "yellow"
    assert "opens" in d.reasons[0]


def test_new_cracks_in_a_zone() -> None:
    d = evaluate(RULES, DAY, [], {"site": 4}, [], "green")
    assert d.level == "yellow"
    assert "4 new cracks" in d.reasons[0]


def test_hysteresis_holds_then_steps_down_one_level() -> None:
    history = [prev("orange", {1: "orange"})]
    held = evaluate(RULES, DAY, [sig(1, None)], {}, history, "orange")
    assert held.level == "orange" and held.candidate == "green"
    history = [prev("orange", {}, candidate="green"), *history]
    down = evaluate(RULES, DAY, [sig(1, None)], {}, history, "orange")
    assert down.level == "yellow"


def test_time_of_failure_raises_to_red_without_waiting() -> None:
    soon = FailureEstimate(date(2026, 6, 5), date(2026, 6, 3), date(2026, 6, 9), 0.95, 3)
    d = evaluate(RULES, DAY, [sig(1, 12.0, failure=soon)], {}, [], "yellow")
    assert d.level == "red"
    unsure = FailureEstimate(date(2026, 6, 5), date(2026, 6, 3), date(2026, 6, 9), 0.5, 3)
    assert evaluate(RULES, DAY, [sig(1, 12.0, failure=unsure)], {}, [], "yellow").level == "yellow"


def test_growth_handed_to_a_piece_of_the_same_crack_persists_but_is_not_two_cracks() -> None:
    history = [prev("yellow", {10: "orange"}, candidate="yellow")]
    piece = TrackSignal(21, 30.0, 1.0, None, 0.1, None, frozenset({10}))
    assert evaluate(RULES, DAY, [piece], {}, history, "yellow").level == "orange"
    stranger = TrackSignal(21, 30.0, 1.0, None, 0.1, None, frozenset())
    assert evaluate(RULES, DAY, [stranger], {}, history, "yellow").level == "yellow"
    both = [TrackSignal(10, 30.0, 1.0, None, 0.1, None, frozenset({21})), piece]
    assert evaluate(RULES, DAY, both, {}, [], "green").level == "yellow"  # one crack, not two agreeing
    assert evaluate(RULES, DAY, [sig(10, 30.0), sig(21, 30.0)], {}, [], "green").level == "orange"
