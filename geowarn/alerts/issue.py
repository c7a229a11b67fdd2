"""Issue an alert: its payload, evidence map and one outbox row per recipient of its level.

Runs inside the caller's transaction, together with the survey's cracks, tracks and assessment:
either all of it is stored or none of it, and deliveries are only attempted after the commit
(transactional outbox), so a crash can delay an alert but never lose or duplicate it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from shapely import affinity, wkb
from sqlalchemy import select
from sqlalchemy.orm import Session

from geowarn.alerts.evidence_map import render_evidence_map
from geowarn.alerts.payload import AlertPayload, CrackEvidence, bbox_wgs84, union_bounds
from geowarn.alerts.settings import SiteAlerting
from geowarn.logs import log_event
from geowarn.store.schema import Alert, Assessment, Delivery, Site, Survey
from geowarn.tracking.change import classify_metrics
from geowarn.tracking.step import TrackedCrack

log = logging.getLogger(__name__)
#: Most cracks listed as evidence in one alert.
MAX_EVIDENCE = 20


@dataclass(frozen=True)
class AlertInput:
    """What a new alert rests on: the assessment's reasons and the cracks behind them."""

    reasons: list[str]
    survey: Survey | None
    previous_survey_date: date | None
    evidence: list[TrackedCrack]
    new_crack_count: int
    model_version: str


def _evidence(item: TrackedCrack) -> CrackEvidence:
    c, g = item.crack, item.growth
    return CrackEvidence(
        track_id=item.track_id,
        length_m=c.length_m,
        length_unc_m=c.length_unc_m,
        mean_width_m=c.mean_width_m,
        max_width_m=c.max_width_m,
        width_unc_m=c.width_unc_m,
        delta_length_m=g.length.delta_m if g else None,
        delta_length_unc_m=g.length.unc_m if g else None,
        delta_max_width_m=g.max_width.delta_m if g else None,
        delta_width_unc_m=g.max_width.unc_m if g else None,
        extension_rate_mm_day=g.extension.rate_mm_day if g else None,
        extension_rate_unc_mm_day=g.extension.rate_unc_mm_day if g else None,
        opening_rate_mm_day=g.mean_width.rate_mm_day if g else None,
        opening_rate_unc_mm_day=g.mean_width.rate_unc_mm_day if g else None,
        significant=bool(g and g.significant),
        centroid_x=c.centroid_x,
        centroid_y=c.centroid_y,
        change=classify_metrics(g.to_dict() if g else None),
    )


def _evidence_map(survey: Survey, items: list[TrackedCrack], path: Path) -> Path | None:
    """PNG of the evidence cracks over the survey's orthomosaic (geometries moved back to its frame)."""
    dx, dy = -(survey.frame_dx_m or 0.0), -(survey.frame_dy_m or 0.0)
    current = [affinity.translate(wkb.loads(i.crack.polygon_wkb), dx, dy) for i in items]
    previous = [affinity.translate(wkb.loads(p.polygon_wkb), dx, dy) for i in items for p in i.previous]
    if not current:
        return None
    png = render_evidence_map(Path(survey.path), previous, current)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path


def _one_line(text: str) -> str:
    """``text`` on one printable line (a site name stored before names were checked may hold a line break)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _crs_name(site: Site, survey: Survey | None) -> str:
    if survey is not None:
        return survey.crs
    if site.crs:
        from pyproj import CRS

        return CRS.from_wkt(site.crs).to_string()
    return "unknown"


def issue_alert(
    session: Session,
    site: Site,
    assessment: Assessment,
    previous_level: str,
    data: AlertInput,
    config: SiteAlerting,
    evidence_dir: Path,
) -> Alert:
    """Store the alert of an assessment that changed the site's level from ``previous_level``.

    With it go its payload, its evidence map (a PNG in ``evidence_dir``) and one outbox row per
    recipient of its level.
    """
    level = assessment.level
    items = sorted(
        (i for i in data.evidence if (i.growth and i.growth.significant) or i.kind == "new"),
        key=lambda i: -(i.growth.extension.rate_mm_day if i.growth else 0.0),
    )[:MAX_EVIDENCE]
    previous_alert = session.scalar(select(Alert).where(Alert.site_id == site.id).order_by(Alert.id.desc()).limit(1))
    alert = Alert(
        site_id=site.id,
        assessment_id=assessment.id,
        level=level,
        previous_level=previous_level,
        requires_ack=level in config.alerting.require_ack,
        payload={},
    )
    session.add(alert)
    session.flush()
    boxes = [wkb.loads(i.crack.polygon_wkb).bounds for i in items]
    bounds = union_bounds(boxes)
    failure = next((i.failure for i in items if i.failure is not None), None)
    survey = data.survey
    payload = AlertPayload(
        alert_id=alert.id,
        site_id=site.slug,
        site_name=_one_line(site.name) or site.slug,
        level=level,  # type: ignore[arg-type]
        previous_level=previous_level,  # type: ignore[arg-type]
        reasons=list(data.reasons),
        cracks=[_evidence(i) for i in items],
        new_crack_count=data.new_crack_count,
        survey_date=survey.acquired_on if survey else date.today(),
        previous_survey_date=data.previous_survey_date,
        survey_id=survey.id if survey else 0,
        issued_at=alert.created_at or datetime.now().astimezone(),
        requires_ack=alert.requires_ack,
        time_of_failure=failure.when if failure else None,
        time_of_failure_low=failure.low if failure else None,
        time_of_failure_high=failure.high if failure else None,
        model_version=data.model_version,
        dashboard_url=f"{config.dashboard_url.rstrip('/')}/sites/{site.slug}/alerts/{alert.id}"
        if config.dashboard_url
        else None,
        crs=_crs_name(site, survey),
        area_wgs84=bbox_wgs84(bounds, site.crs) if bounds and site.crs else None,
        previous_alert_id=previous_alert.id if previous_alert else None,
        previous_issued_at=previous_alert.created_at if previous_alert else None,
    )
    alert.payload = payload.model_dump(mode="json")
    if survey is not None and items:
        try:
            path = _evidence_map(survey, items, evidence_dir / f"alert-{alert.id:06d}-map.png")
            alert.evidence_path = str(path) if path else None
        except Exception as exc:  # the picture must never stop the alert
            log_event(log, "evidence map failed; alert sent without it", level=logging.WARNING, error=str(exc))
    for recipient in config.recipients:
        if level in recipient.levels:
            session.add(
                Delivery(
                    alert_id=alert.id,
                    channel=recipient.channel,
                    recipient=recipient.address,
                    idempotency_key=payload.idempotency_key(recipient.channel, recipient.address),
                )
            )
    session.flush()
    log_event(log, "alert", site=site.slug, alert=alert.id, alert_level=level, previous=previous_level)
    return alert
