"""Assessment settings: the levels that growth rates, times of failure and new cracks reach.

They are keys of the ``rules:`` section of a site's YAML (``geowarn.workspace.site_config``);
``config/site.example.yaml`` documents each with its default. Rates are in mm/day of crack extension
(length) and opening (mean width: the maximum width of a crack is a single-pixel statistic that
varies between surveys far more than the mean); counts are new cracks per survey in a zone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from geowarn import inputs
from geowarn.settings import Settings

Level = Literal["green", "yellow", "orange", "red"]
LEVEL_ORDER: dict[str, int] = {"green": 0, "yellow": 1, "orange": 2, "red": 3}


class Thresholds(Settings):
    """Lower bounds of each level; None disables that level for this trigger."""

    yellow: float | None = None
    orange: float | None = None
    red: float | None = None

    @model_validator(mode="after")
    def _increasing(self) -> Thresholds:
        values = [v for v in (self.yellow, self.orange, self.red) if v is not None]
        if values != sorted(values) or any(v <= 0 for v in values):
            raise ValueError(f"thresholds must be positive and rise from yellow to red, got {self.model_dump()}")
        return self

    def level_of(self, value: float) -> str:
        """Highest level whose threshold ``value`` reaches."""
        for name in ("red", "orange", "yellow"):
            bound = getattr(self, name)
            if bound is not None and value >= bound:
                return name
        return "green"

    def bound(self, level: str) -> float | None:
        return getattr(self, level, None) if level != "green" else None


class FailureWindow(Settings):
    """Inverse-velocity time of failure within this many days of the survey raises the level."""

    yellow: float | None = 90.0
    orange: float | None = 30.0
    red: float | None = 7.0
    min_confidence: float = Field(0.8, gt=0, le=1)


class Zone(Settings):
    """A named part of the site (polygon WKT in the site CRS) for new-crack counts."""

    name: str
    wkt: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return inputs.one_line(value)

    @field_validator("wkt")
    @classmethod
    def _polygon(cls, value: str) -> str:
        """A valid, non-empty polygon or multipolygon (checked here, not when the first new crack is counted)."""
        from shapely import wkt
        from shapely.errors import ShapelyError
        from shapely.validation import explain_validity

        try:
            shape = wkt.loads(value)
        except (ShapelyError, ValueError, TypeError) as exc:
            raise ValueError(
                f"not WKT ({' '.join(str(exc).split())[:120]}); write POLYGON ((x1 y1, x2 y2, x3 y3, x1 y1)) "
                "in the site CRS"
            ) from None
        if shape.geom_type not in ("Polygon", "MultiPolygon") or shape.is_empty:
            raise ValueError(f"a {shape.geom_type}, not a polygon; write POLYGON ((x1 y1, x2 y2, x3 y3, x1 y1))")
        if not shape.is_valid:
            raise ValueError(f"not a valid polygon ({explain_validity(shape)}); fix the outline")
        return value


class Persistence(Settings):
    """Escalation to ``from_level`` or above needs persistence or agreement."""

    from_level: Level = "orange"
    surveys: int = Field(2, ge=1)  # the same track over this many consecutive survey pairs, or
    cracks: int = Field(2, ge=1)  # this many tracks reaching the level in one survey pair


class Hysteresis(Settings):
    """De-escalation: after ``surveys`` consecutive surveys below the current level, step down."""

    surveys: int = Field(2, ge=1)


class AssessmentSettings(Settings):
    """How a site's level follows from its cracks' growth and its new cracks."""

    extension_rate_mm_day: Thresholds = Thresholds(yellow=5.0, orange=20.0, red=50.0)
    opening_rate_mm_day: Thresholds = Thresholds(yellow=1.0, orange=3.0, red=10.0)
    new_cracks: Thresholds = Thresholds(yellow=3.0, orange=8.0)
    min_new_crack_length_m: float = Field(0.3, ge=0)
    new_crack_cluster_m: float = Field(0.3, ge=0)  # new pieces closer than this count as one new crack
    min_alert_crack_length_m: float = Field(0.5, ge=0)  # shorter cracks are recorded and tracked, never alerted on
    time_of_failure_days: FailureWindow = FailureWindow()
    persistence: Persistence = Persistence()
    hysteresis: Hysteresis = Hysteresis()
    overdue_days: float = Field(21.0, gt=0)
    zones: list[Zone] = Field(default_factory=list)
