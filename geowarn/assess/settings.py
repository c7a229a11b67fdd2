"""Per-site alert rules, recipients and channels: a validated YAML file with sensible defaults.

Unknown keys are rejected so a typo never silently disables a threshold. Rates are in mm/day of
crack extension (length) and opening (mean width: the maximum width of a crack is a single-pixel
statistic that varies between surveys far more than the mean); counts are new cracks per survey
in a zone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geowarn.errors import ConfigError
from geowarn.settings import read_mapping, validate

#: Where every site setting is documented.
SITE_DOCS = "config/site.example.yaml"

Level = Literal["green", "yellow", "orange", "red"]
NotifyLevel = Literal["green", "yellow", "orange", "red", "nodata"]
LEVEL_ORDER: dict[str, int] = {"green": 0, "yellow": 1, "orange": 2, "red": 3}
ALL_NOTIFY_LEVELS: tuple[NotifyLevel, ...] = ("green", "yellow", "orange", "red", "nodata")
ACK_LEVELS: tuple[Level, ...] = ("orange", "red")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
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


class FailureWindow(_Strict):
    """Inverse-velocity time of failure within this many days of the survey raises the level."""

    yellow: float | None = 90.0
    orange: float | None = 30.0
    red: float | None = 7.0
    min_confidence: float = Field(0.8, gt=0, le=1)


class Zone(_Strict):
    """A named part of the site (polygon WKT in the site CRS) for new-crack counts."""

    name: str
    wkt: str


class Persistence(_Strict):
    """Escalation to ``from_level`` or above needs persistence or agreement."""

    from_level: Level = "orange"
    surveys: int = Field(2, ge=1)  # the same track over this many consecutive survey pairs, or
    cracks: int = Field(2, ge=1)  # this many tracks reaching the level in one survey pair


class Hysteresis(_Strict):
    """De-escalation: after ``surveys`` consecutive surveys below the current level, step down."""

    surveys: int = Field(2, ge=1)


class AckReminders(_Strict):
    """Hours between reminders of an alert that still awaits acknowledgement; None: no reminders."""

    orange: float | None = Field(24.0, gt=0)
    red: float | None = Field(4.0, gt=0)
    max_reminders: int = Field(6, ge=0)  # per alert; 0 turns reminders off

    def interval_h(self, level: str) -> float | None:
        """Hours between reminders at ``level``, or None."""
        return getattr(self, level, None) if level in ("orange", "red") and self.max_reminders else None


class Recipient(_Strict):
    """Who is told, on which configured channel, at which levels."""

    name: str
    channel: str
    address: str
    levels: list[NotifyLevel] = Field(default_factory=lambda: list(ALL_NOTIFY_LEVELS))


class Rules(_Strict):
    """Alert rules of one site."""

    extension_rate_mm_day: Thresholds = Thresholds(yellow=5.0, orange=20.0, red=50.0)
    opening_rate_mm_day: Thresholds = Thresholds(yellow=1.0, orange=3.0, red=10.0)
    new_cracks: Thresholds = Thresholds(yellow=3.0, orange=8.0)
    min_new_crack_length_m: float = Field(0.3, ge=0)
    new_crack_cluster_m: float = Field(0.3, ge=0)  # new pieces closer than this count as one new crack
    min_alert_crack_length_m: float = Field(0.5, ge=0)  # shorter cracks are recorded and tracked, never alerted on
    time_of_failure_days: FailureWindow = FailureWindow()
    significance_sigma: float = Field(2.0, gt=0)
    tip_noise_px: float = Field(2.5, ge=0)  # segmentation variability of crack tips between surveys, per survey
    footprint_tolerance_px: float = Field(3.0, ge=0)  # extension counts beyond earlier detections by more than this
    min_branch_px: float = Field(10.0, ge=0)  # side branches shorter than this are skeleton spurs, not extension
    join_gap_px: float = Field(15.0, ge=0)  # a new piece starting this close ahead of a tip continues it (0: off)
    # ... and across the gap the segmenter's probability or the imagery's dark line shows crack (both 0: off)
    join_min_gap_prob: float = Field(0.35, ge=0, le=1)
    join_min_line_contrast: float = Field(0.06, ge=0, le=1)
    lookback_surveys: int = Field(3, ge=0)  # earlier surveys re-segmented under new-looking pieces (0: off)
    lookback_prob_threshold: float = Field(0.35, gt=0, le=1)  # earlier crack probability meaning "already there"
    lookback_line_ratio: float = Field(0.5, ge=0, le=1)  # earlier dark-line contrast share meaning "already there"
    lookback_min_line_contrast: float = Field(0.1, ge=0, le=1)  # current line contrast below which a piece is no crack
    noise_min_tracks: int = Field(5, ge=3)  # tracks needed to estimate a survey pair's empirical noise floor
    persistence: Persistence = Persistence()
    hysteresis: Hysteresis = Hysteresis()
    overdue_days: float = Field(21.0, gt=0)
    require_ack: list[Level] = Field(default_factory=lambda: list(ACK_LEVELS))
    ack_reminders: AckReminders = AckReminders()
    max_registration_residual_m: float = Field(0.1, gt=0)
    zones: list[Zone] = Field(default_factory=list)


class SiteConfig(_Strict):
    """Everything a site's YAML file may set; every field has a default."""

    rules: Rules = Rules()
    recipients: list[Recipient] = Field(default_factory=list)
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    dashboard_url: str | None = None
    cap_sender: str = "geowarn@localhost"

    @field_validator("channels")
    @classmethod
    def _channel_settings(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from geowarn.alerts.channels import parse_channels

        try:
            parse_channels(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @model_validator(mode="after")
    def _recipients_use_known_channels(self) -> SiteConfig:
        for r in self.recipients:
            if r.channel not in self.channels and r.channel != "outbox-files":
                known = ", ".join(sorted(self.channels)) or "none configured"
                raise ValueError(f"recipient {r.name!r} uses channel {r.channel!r}, which is not defined ({known})")
        return self


def load_site_config(path: Path | None) -> SiteConfig:
    """Read and validate a site YAML file; None gives the defaults.

    Raises:
        ConfigError: the file is missing, not YAML, or has invalid or unknown keys (``geowarn.settings`` format).

    """
    if path is None:
        return SiteConfig()
    raw = read_mapping(path)
    if isinstance(raw.get("channels"), dict):
        from geowarn.alerts.channels import parse_channels

        parse_channels(raw["channels"], str(path))  # first, so that its problems name the channel keys
    return validate(SiteConfig, raw, str(path), docs=SITE_DOCS)
