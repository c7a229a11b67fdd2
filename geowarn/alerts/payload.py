"""The alert payload: everything a channel needs to tell a geologist what happened, and nothing else.

An :class:`AlertPayload` is built by the monitor, stored as JSON with the alert
(``payload.model_dump(mode="json")``), rebuilt with ``AlertPayload.model_validate(data)`` and handed to
every channel. It is frozen and rejects unknown keys, so a stored payload either round-trips exactly or
fails loudly.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from geowarn.tracking.change import GROWTH, NEW, STABLE, Change, classify_rates, count_phrase

Level = Literal["green", "yellow", "orange", "red", "nodata"]

#: Order of the warning levels (``nodata`` is outside the scale).
LEVEL_RANK: dict[str, int] = {"green": 0, "yellow": 1, "orange": 2, "red": 3}

#: Attachment name under which the outbox passes the evidence map PNG to the channels.
EVIDENCE_MAP_ATTACHMENT = "evidence-map.png"

_SITE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class CrackEvidence(BaseModel):
    """One tracked crack that drove the alert, with every measurement and its 1-sigma uncertainty.

    Lengths and widths are in metres, rates in mm/day; the ``delta_*`` and rate fields are ``None``
    for a crack seen for the first time. Centroid coordinates are in the site CRS (``AlertPayload.crs``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    track_id: int
    length_m: float = Field(ge=0)
    length_unc_m: float = Field(ge=0)
    mean_width_m: float = Field(ge=0)
    max_width_m: float = Field(ge=0)
    width_unc_m: float = Field(ge=0)
    delta_length_m: float | None
    delta_length_unc_m: float | None = Field(ge=0)
    delta_max_width_m: float | None
    delta_width_unc_m: float | None = Field(ge=0)
    extension_rate_mm_day: float | None
    extension_rate_unc_mm_day: float | None = Field(ge=0)
    opening_rate_mm_day: float | None
    opening_rate_unc_mm_day: float | None = Field(ge=0)
    significant: bool = Field(description="the change is larger than the measurement noise floor")
    centroid_x: float
    centroid_y: float
    change: Change | None = Field(
        None, description="extending, opening, new, shrinking or partly lost, stable (geowarn.tracking.change)"
    )

    @property
    def is_new(self) -> bool:
        """True when the crack has no earlier measurement to compare with."""
        return self.delta_length_m is None and self.delta_max_width_m is None

    @property
    def change_class(self) -> Change:
        """How the crack changed (``change``; for payloads stored without it, redone at 2 sigma)."""
        if self.change is not None:
            return self.change
        if not self.significant and not self.is_new:
            return STABLE
        return classify_rates(
            extension_rate=self.extension_rate_mm_day,
            extension_unc=self.extension_rate_unc_mm_day,
            opening_rate=self.opening_rate_mm_day,
            opening_unc=self.opening_rate_unc_mm_day,
            delta_length=self.delta_length_m,
            delta_length_unc=self.delta_length_unc_m,
            delta_width=self.delta_max_width_m,
            delta_width_unc=self.delta_width_unc_m,
        )


class AlertPayload(BaseModel):
    """The message contract between the monitor and the delivery channels."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    alert_id: int = Field(ge=0)
    site_id: str = Field(pattern=_SITE_ID_PATTERN, description="short slug, e.g. north-slope")
    site_name: str = Field(min_length=1)
    level: Level
    previous_level: Level
    reasons: list[str] = Field(description="human sentences saying why this level was reached")
    cracks: list[CrackEvidence]
    new_crack_count: int = Field(ge=0)
    survey_date: date
    previous_survey_date: date | None
    survey_id: int
    issued_at: AwareDatetime = Field(description="timezone-aware; stored in UTC")
    requires_ack: bool
    time_of_failure: date | None = None
    time_of_failure_low: date | None = None
    time_of_failure_high: date | None = None
    model_version: str
    dashboard_url: str | None
    crs: str = Field(min_length=1, description="CRS of the crack coordinates, e.g. EPSG:32633")
    area_wgs84: tuple[float, float, float, float] | None = Field(
        description="lon_min, lat_min, lon_max, lat_max of the cracks (CAP <area>)"
    )
    previous_alert_id: int | None = Field(None, description="the alert this one updates (CAP <references>)")
    previous_issued_at: AwareDatetime | None = Field(None, description="issue time of previous_alert_id")
    reminder: int = Field(
        0, ge=0, description="0: the alert itself; n: the n-th reminder that it awaits acknowledgement"
    )

    @field_validator("issued_at", "previous_issued_at")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    @field_validator("site_name", "model_version", "crs")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(ord(c) < 32 for c in value):
            raise ValueError(f"{value!r} contains a line break or control character; it goes into message headers")
        return value

    @field_validator("dashboard_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError(f"dashboard_url {value!r} must start with http:// or https://")
        return value

    @field_validator("area_wgs84")
    @classmethod
    def _valid_bbox(cls, value: tuple[float, float, float, float] | None) -> tuple[float, float, float, float] | None:
        if value is None:
            return None
        lon0, lat0, lon1, lat1 = value
        if not (-180 <= lon0 <= lon1 <= 180 and -90 <= lat0 <= lat1 <= 90):
            raise ValueError(
                f"area_wgs84 {value} is not (lon_min, lat_min, lon_max, lat_max) in degrees with min <= max"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AlertPayload:
        low, high = self.time_of_failure_low, self.time_of_failure_high
        if low is not None and high is not None and low > high:
            raise ValueError(f"time_of_failure_low {low} is after time_of_failure_high {high}")
        if self.previous_survey_date is not None and self.previous_survey_date > self.survey_date:
            raise ValueError(
                f"previous_survey_date {self.previous_survey_date} is after survey_date {self.survey_date}"
            )
        return self

    def idempotency_key(self, channel: str, recipient: str) -> str:
        """Stable key for one delivery of this alert: same alert, channel and recipient give the same key.

        The recipient is hashed (sha1, 12 hex digits) so the key can appear in logs and headers.
        """
        digest = hashlib.sha1(recipient.strip().encode("utf-8"), usedforsecurity=False).hexdigest()[:12]
        key = f"geowarn-alert-{self.site_id}-{self.alert_id}-{channel}-{digest}"
        return f"{key}-reminder-{self.reminder}" if self.reminder else key

    def as_reminder(self, number: int) -> AlertPayload:
        """The ``number``-th reminder of this alert (acknowledgement still awaited)."""
        return self.model_copy(update={"reminder": number})

    def cap_identifier(self) -> str:
        """CAP ``<identifier>`` of this alert (one CAP message per alert, whatever the recipients)."""
        return f"geowarn-alert-{self.site_id}-{self.alert_id}"

    @property
    def growing_cracks(self) -> list[CrackEvidence]:
        """Cracks extending or opening, fastest first (a shorter or narrower mapping is never growth)."""
        grown = [c for c in self.cracks if c.change_class in GROWTH]
        return sorted(grown, key=lambda c: -max(c.extension_rate_mm_day or 0.0, c.opening_rate_mm_day or 0.0))

    def change_counts(self) -> dict[str, int]:
        """Cracks per change class; ``new`` is at least ``new_crack_count`` (not every new crack is listed)."""
        counts: dict[str, int] = {}
        for crack in self.cracks:
            counts[crack.change_class] = counts.get(crack.change_class, 0) + 1
        counts[NEW] = max(counts.get(NEW, 0), self.new_crack_count)
        return counts

    def key_crack(self) -> CrackEvidence | None:
        """The extending (or opening) crack with the fastest rate, if any."""
        grown = self.growing_cracks
        return grown[0] if grown else None

    def level_change(self) -> str:
        """``"up from YELLOW"``, ``"down from RED"``, ``"was NODATA"`` or ``""`` when unchanged."""
        if self.level == self.previous_level:
            return ""
        now, before = LEVEL_RANK.get(self.level), LEVEL_RANK.get(self.previous_level)
        if now is None or before is None:
            return f"was {self.previous_level.upper()}"
        return f"{'up' if now > before else 'down'} from {self.previous_level.upper()}"

    def summary(self) -> str:
        """A few words on what happened, e.g. ``1 crack extending, 1 new, 2 shrinking or partly lost``."""
        if self.level == "nodata":
            return "no usable survey data"
        if self.level == "green":
            return "all clear" if LEVEL_RANK.get(self.previous_level, 0) > 0 else "no significant crack growth"
        return count_phrase(self.change_counts()) or "crack activity"

    def subject(self) -> str:
        """Email subject, e.g. ``[geowarn] ORANGE – North slope: 1 crack extending, 1 new (up from YELLOW)``."""
        change = self.level_change()
        reminder = f"REMINDER {self.reminder}, not acknowledged: " if self.reminder else ""
        return f"[geowarn] {reminder}{self.level.upper()} – {self.site_name}: {self.summary()}" + (
            f" ({change})" if change else ""
        )


def bbox_wgs84(bounds: tuple[float, float, float, float], crs: Any) -> tuple[float, float, float, float]:
    """Longitude/latitude bounding box of ``bounds`` (minx, miny, maxx, maxy) given in ``crs``.

    Args:
        bounds: box in the site CRS, e.g. the union of the alerting cracks' bounds.
        crs: anything pyproj accepts (``"EPSG:32633"``, WKT, a rasterio CRS).

    Returns:
        (lon_min, lat_min, lon_max, lat_max), densified so curved edges are covered.

    """
    from pyproj import CRS, Transformer

    transformer = Transformer.from_crs(CRS.from_user_input(crs), CRS.from_epsg(4326), always_xy=True)
    lon0, lat0, lon1, lat1 = transformer.transform_bounds(*bounds, densify_pts=21)
    if not all(math.isfinite(v) for v in (lon0, lat0, lon1, lat1)):
        raise ValueError(f"bounds {bounds} in {crs} cannot be transformed to WGS84")
    return (lon0, lat0, lon1, lat1)


def union_bounds(boxes: Iterable[tuple[float, float, float, float]]) -> tuple[float, float, float, float] | None:
    """Union of (minx, miny, maxx, maxy) boxes; None when there are none."""
    items = list(boxes)
    if not items:
        return None
    return (
        min(b[0] for b in items),
        min(b[1] for b in items),
        max(b[2] for b in items),
        max(b[3] for b in items),
    )
