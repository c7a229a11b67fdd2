"""What ``geowarn monitor`` prints for a survey (``geowarn.pipeline.report``)."""

from __future__ import annotations

from datetime import date

from geowarn.pipeline.report import SurveyResult


def test_a_survey_line_gives_the_shift_onto_the_previous_survey_and_into_the_site_frame() -> None:
    result = SurveyResult("slope", 3, date(2026, 5, 15), "processed", cracks=4, shift_m=0.381, step_m=0.079)
    line = result.line()
    assert "shift 0.079 m onto the previous survey (0.381 m into the site frame)" in line
    first = SurveyResult("slope", 1, date(2026, 5, 1), "processed", cracks=4).line()
    assert "reference survey" in first
