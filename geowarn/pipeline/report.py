"""What the orchestrators report: a detect run's summary lines, a monitor run's results per survey."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from geowarn.alerts.outbox import FlushReport
from geowarn.pipeline.detect import DetectResult


def detect_summary(result: DetectResult) -> str:
    """A few lines: what was found, how fast, where the outputs are."""
    c = result.counts
    rates = result.manifest["rates"]
    raster = result.manifest["input"]["raster"]
    lines = [
        f"geowarn detect: {result.n_cracks} crack(s), total length {result.total_length_m:.2f} m",
        f"  input   {raster['path']} ({raster['width']} x {raster['height']} px, {raster['gsd_m'] * 100:.2f} cm, "
        f"{raster['crs']})",
        f"  tiles   {c['tiles_total']} total, {c['tiles_nodata']} no-data, {c['tiles_positive']} gated in, "
        f"{c['tiles_followed']} followed along cracks, {c['tiles_segmented']} segmented",
        f"  speed   {result.seconds['total']:.1f} s end to end ({rates['end_to_end_mpx_per_s'] or 0:.2f} Mpx/s)",
    ]
    if c.get("wide_features"):
        limit = result.manifest["config"]["max_crack_width_m"]
        lines.append(
            f"  review  {c['wide_features']} wide dark feature(s) over {limit:.2f} m wide, not counted as cracks "
            "(layer wide_features: shade, gullies, tracks, or an open fissure)"
        )
    if c.get("unconfirmed_features"):
        lines.append(
            f"  review  {c['unconfirmed_features']} crack-shaped feature(s) the verifier did not confirm, not counted "
            "as cracks (layer unconfirmed_features: stones, fences, ruts, shade)"
        )
    lines.append("  outputs")
    lines += [f"    {path}" for path in result.outputs.values()]
    return "\n".join(lines)


SurveyStatus = Literal["processed", "flagged", "failed"]


@dataclass(frozen=True)
class SurveyResult:
    """What monitoring made of one survey.

    ``status`` is ``processed``, ``flagged`` (not co-registered: no growth computed) or ``failed``
    (``reason`` says why for both). ``extending``: cracks extending significantly; ``changed``: more
    cracks with a significant change of length or width; ``step_m``: the co-registration shift onto
    the previous survey and ``shift_m`` the survey's shift into the site frame (the first survey's),
    both None for the site's reference survey; ``seen_before_m`` / ``no_line_m``: new-looking crack
    length that the look-back found in earlier imagery / without a line in this survey's imagery.
    """

    site: str
    survey_id: int
    acquired_on: date
    status: SurveyStatus
    cracks: int = 0
    extending: int = 0
    changed: int = 0
    new: int = 0
    shift_m: float | None = None
    step_m: float | None = None
    seen_before_m: float = 0.0
    no_line_m: float = 0.0
    level: str | None = None
    alert_id: int | None = None
    reason: str | None = None

    def line(self) -> str:
        """One line for people."""
        alert = f"; alert {self.alert_id}" if self.alert_id else ""
        survey = f"survey {self.survey_id} ({self.acquired_on})"
        if self.status == "failed":
            return f"{self.site}: {survey}: FAILED, {self.reason}{alert}"
        head = f"{self.site}: {survey}: {self.cracks} cracks"
        if self.status == "flagged":
            return f"{head}; FLAGGED, {self.reason}{alert}"
        if self.shift_m is None:
            shift = "reference survey"
        elif self.step_m is None:
            shift = f"shift {self.shift_m:.3f} m into the site frame"
        else:
            shift = f"shift {self.step_m:.3f} m onto the previous survey ({self.shift_m:.3f} m into the site frame)"
        rechecked = (
            f"; {self.seen_before_m:.2f} m new on the map but seen in earlier imagery" if self.seen_before_m else ""
        )
        rechecked += f"; {self.no_line_m:.2f} m new on the map but no line in the imagery" if self.no_line_m else ""
        return (
            f"{head}, {self.extending} extending significantly ({self.changed} more with a significant change of "
            f"length or width), {self.new} new; {shift}{rechecked}; level {str(self.level).upper()}{alert}"
        )


@dataclass(frozen=True)
class OverdueResult:
    """A site whose latest survey is older than its rules allow: it went to "no data"."""

    site: str
    reason: str
    alert_id: int | None = None

    def line(self) -> str:
        """One line for people."""
        return f"{self.site}: {self.reason}" + (f"; alert {self.alert_id}" if self.alert_id else "")


@dataclass(frozen=True)
class SiteFailure:
    """A site that could not be monitored this time (its YAML unreadable...); the reason is kept on the site."""

    site: str
    reason: str
    alert_id: int | None = None

    def line(self) -> str:
        """One line for people."""
        return f"{self.site}: NOT MONITORED, {self.reason}; see: geowarn site show {self.site}"


@dataclass
class MonitorReport:
    """What one ``monitor`` run did, site by site, and what the outbox then sent.

    ``delivery_error``: why the deliveries could not be sent at all (None when they were tried).
    """

    results: list[SurveyResult | OverdueResult | SiteFailure] = field(default_factory=list)
    outbox: FlushReport | None = None
    delivery_error: str | None = None

    @property
    def failed_sites(self) -> list[SiteFailure]:
        """The sites that could not be monitored."""
        return [r for r in self.results if isinstance(r, SiteFailure)]

    @property
    def ok(self) -> bool:
        """True when every site was monitored and the deliveries were tried."""
        return not self.failed_sites and self.delivery_error is None

    @property
    def surveys(self) -> list[SurveyResult]:
        """The surveys processed, in processing order."""
        return [r for r in self.results if isinstance(r, SurveyResult)]

    @property
    def alerts(self) -> list[int]:
        """Ids of the alerts raised."""
        return [r.alert_id for r in self.results if r.alert_id is not None]

    @property
    def lines(self) -> list[str]:
        return [r.line() for r in self.results]

    def __str__(self) -> str:
        tail = [str(self.outbox)] if self.outbox else []
        if self.delivery_error:
            tail.append(f"outbox: NOT SENT, {self.delivery_error}")
        return "\n".join([*self.lines, *tail]) or "nothing to do"
