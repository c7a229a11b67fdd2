"""Process a site's pending surveys in date order: detect, register, track, assess, notify.

Per survey, the slow work (detection, registration) happens first and outside any transaction;
then one transaction claims the survey (``pending`` → ``processed``/``flagged``) and stores its
run, cracks, tracks, growth, assessment, alert and outbox rows together. Running ``monitor``
twice, or two at once, therefore never duplicates surveys, cracks or alerts, and a crash leaves
the survey pending so the next run redoes it (reusing the finished detection outputs).
Deliveries go out after the commit (see ``geowarn.alerts.outbox``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from shapely import affinity, unary_union
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, select, update

from geowarn.alerts.outbox import FlushReport, flush_outbox, site_channels
from geowarn.alerts.reminders import queue_reminders
from geowarn.assess.levels import Previous, evaluate
from geowarn.assess.record import AssessmentInput, current_levels, record_assessment
from geowarn.assess.settings import Rules, SiteConfig
from geowarn.faults import failpoint
from geowarn.inference.cascade import Cascade
from geowarn.logs import log_event
from geowarn.pipeline.detect import GPKG_NAME, PROB_NAME, RUN_NAME, detect, load_cascade
from geowarn.pipeline.detect_config import MONITOR_DETECT_DEFAULTS, DetectConfig
from geowarn.registration import Registration, register_surveys
from geowarn.store.schema import Assessment, Run, Site, Survey, utcnow
from geowarn.tracking.cracks import read_detected_cracks
from geowarn.tracking.join_gap import GapEvidence
from geowarn.tracking.lookback import LINE_SMOOTH_PX, LOOK_RADIUS_PX, EarlierImage, ImageLookback, LookbackSettings
from geowarn.tracking.step import Footprint, TrackedCrack, track_survey
from geowarn.workspace import Workspace, get_site

log = logging.getLogger(__name__)
#: Matching buffer: this much plus three registration sigmas.
BASE_BUFFER_M = 0.15


@dataclass
class MonitorReport:
    """What one ``monitor`` run did, as lines for people and ids for tests."""

    lines: list[str] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)
    outbox: FlushReport | None = None

    def __str__(self) -> str:
        tail = [str(self.outbox)] if self.outbox else []
        return "\n".join([*self.lines, *tail]) or "nothing to do"


def model_version(manifest: dict[str, Any]) -> str:
    """``geowarn X; <model> <sha8>; ...`` from a run manifest."""
    parts = [f"geowarn {manifest.get('environment', {}).get('geowarn', '?')}"]
    for role in ("classifier", "segmenter"):
        record = manifest.get("models", {}).get(role)
        if record:
            parts.append(f"{record['name']} {str(record.get('weights_sha256') or '')[:8]}")
    return "; ".join(parts)


def _reusable_run(out_dir: Path, sha256: str, cascade: Cascade) -> dict[str, Any] | None:
    """The finished run in ``out_dir`` when it is for this file and these weights."""
    try:
        manifest: dict[str, Any] = json.loads((out_dir / RUN_NAME).read_text())
    except (OSError, ValueError):
        return None
    models = manifest.get("models", {})
    same_models = (models.get("segmenter") or {}).get("weights_sha256") == cascade.segmenter.sha256 and (
        (models.get("classifier") or {}).get("weights_sha256")
        == (cascade.classifier.sha256 if cascade.classifier else None)
    )
    if manifest.get("input", {}).get("sha256") == sha256 and same_models and (out_dir / GPKG_NAME).is_file():
        return manifest
    return None


def _processed_before(survey: Survey) -> Select[Survey]:
    """The site's processed surveys acquired before ``survey``, latest first."""
    return (
        select(Survey)
        .where(
            Survey.site_id == survey.site_id,
            Survey.status == "processed",
            Survey.acquired_on < survey.acquired_on,
        )
        .order_by(Survey.acquired_on.desc())
    )


def _registered(reg: Registration | None, rules: Rules) -> bool:
    """A first survey, or one co-registered well enough to compute growth from."""
    return reg is None or (reg.ok and reg.residual_m <= rules.max_registration_residual_m)


def _site_frame(reference: Survey | None, reg: Registration | None) -> tuple[float, float]:
    """Shift of a registered survey into the site frame (its reference's frame plus the registration)."""
    if reference is None or reg is None:
        return 0.0, 0.0
    return (
        (reference.frame_dx_m or 0.0) + reg.dx_m / reg.crs_unit_m,
        (reference.frame_dy_m or 0.0) + reg.dy_m / reg.crs_unit_m,
    )


@dataclass
class _Prepared:
    """Outcome of the slow, transaction-free stage of one survey."""

    manifest: dict[str, Any]
    out_dir: Path
    reference_id: int | None
    registration: Registration | None
    seen_before: list[BaseGeometry] = field(default_factory=list)
    no_line: list[BaseGeometry] = field(default_factory=list)


def _gap_evidence(survey: Survey, out_dir: Path, frame: tuple[float, float], rules: Rules) -> GapEvidence:
    """What a tip join needs across its gap, read from this survey's imagery and probability raster."""
    return GapEvidence(
        Path(survey.path),
        out_dir / PROB_NAME,
        frame,
        0.5 * survey.gsd_m,
        min_contrast=rules.join_min_line_contrast,
        min_probability=rules.join_min_gap_prob,
        radius_px=LOOK_RADIUS_PX,
    )


class Processor:
    """Processes pending surveys with one loaded cascade."""

    def __init__(
        self,
        ws: Workspace,
        detect_config: DetectConfig | None = None,
        cascade: Cascade | None = None,
        registrar: Callable[[Path, Path], Registration] = register_surveys,
    ) -> None:
        self.ws = ws
        self.detect_config = detect_config or DetectConfig(**MONITOR_DETECT_DEFAULTS)
        self._cascade = cascade
        self.registrar = registrar

    @property
    def cascade(self) -> Cascade:
        if self._cascade is None:
            self._cascade = load_cascade(self.detect_config)
        return self._cascade

    def _look_back(
        self, survey: Survey, frame: tuple[float, float], out_dir: Path, rules: Rules
    ) -> tuple[list[BaseGeometry], list[BaseGeometry]]:
        """New-looking pieces (beyond earlier detections) that do not count: (seen before, no line now).

        Seen before: earlier imagery already shows them. No line now: this survey's imagery shows
        no dark line along them.
        """
        current = unary_union(
            [affinity.translate(c.centerline, *frame) for c in read_detected_cracks(out_dir / GPKG_NAME)]
        )
        with self.ws.store.transaction() as session:
            footprint = Footprint.before(session, survey, rules.footprint_tolerance_px * survey.gsd_m, 0.0)
            earlier = session.scalars(_processed_before(survey).limit(rules.lookback_surveys)).all()
            images = [EarlierImage(s.id, Path(s.path), s.frame_dx_m or 0.0, s.frame_dy_m or 0.0) for s in earlier]
        settings = LookbackSettings(
            radius_px=LOOK_RADIUS_PX,
            prob_threshold=rules.lookback_prob_threshold,
            target_gsd_m=self.detect_config.target_gsd_m,
            exclude_near_m=(rules.footprint_tolerance_px + LOOK_RADIUS_PX) * survey.gsd_m,
            gap_m=rules.min_branch_px * survey.gsd_m,
            line_ratio=rules.lookback_line_ratio,
            line_smooth_m=LINE_SMOOTH_PX * survey.gsd_m,
            line_min_now=rules.lookback_min_line_contrast,
        )
        mapped = unary_union(footprint.lines) if footprint.lines else None
        lookback = ImageLookback(self.cascade, settings, EarlierImage(survey.id, Path(survey.path), *frame))
        seen, no_line = lookback.discounted(footprint.beyond(current), images, 0.5 * survey.gsd_m, mapped)
        return list(seen), list(no_line)

    def _prepare(self, site: Site, survey: Survey, reference: Survey | None, rules: Rules) -> _Prepared:
        out_dir = self.ws.run_dir(site, survey)
        manifest = _reusable_run(out_dir, survey.sha256, self.cascade)
        if manifest is None:
            result = detect(Path(survey.path), out_dir, self.detect_config, cascade=self.cascade, progress=False)
            manifest = result.manifest
        found = manifest["input"]["sha256"]
        if found != survey.sha256:
            raise ValueError(
                f"{survey.path} changed since it was added (sha256 {found[:12]}..., expected {survey.sha256[:12]}...); "
                "add the new file as a new survey"
            )
        registration = self.registrar(Path(reference.path), Path(survey.path)) if reference else None
        seen: list[BaseGeometry] = []
        no_line: list[BaseGeometry] = []
        if reference is not None and rules.lookback_surveys and _registered(registration, rules):
            seen, no_line = self._look_back(survey, _site_frame(reference, registration), out_dir, rules)
        return _Prepared(manifest, out_dir, reference.id if reference else None, registration, seen, no_line)

    def process(self, site_slug: str, survey_id: int, config: SiteConfig) -> list[str]:
        """Process one pending survey; returns human lines. Failures mark the survey failed, nothing else."""
        with self.ws.store.transaction() as session:
            site = get_site(session, site_slug)
            survey = session.get_one(Survey, survey_id)
            if survey.status != "pending":
                return []
            reference = session.scalar(_processed_before(survey).limit(1))
        try:
            prepared = self._prepare(site, survey, reference, config.rules)
        except Exception as exc:
            log.exception("survey %s failed", survey_id)
            return self._fail(site_slug, survey_id, config, f"{type(exc).__name__}: {exc}")
        return self._store(site_slug, survey_id, config, prepared)

    def _claim(self, session: Any, survey_id: int, status: str) -> bool:
        result = session.execute(
            update(Survey).where(Survey.id == survey_id, Survey.status == "pending").values(status=status)
        )
        return bool(result.rowcount)

    def _fail(self, site_slug: str, survey_id: int, config: SiteConfig, error: str) -> list[str]:
        with self.ws.store.transaction() as session:
            if not self._claim(session, survey_id, "failed"):
                return []
            site = get_site(session, site_slug)
            survey = session.get_one(Survey, survey_id)
            survey.error, survey.processed_at = error, utcnow()
            reason = f"processing failed for survey {survey.id} of {survey.acquired_on}: {error}"
            alert = self._nodata(session, site, config, survey, reason, f"survey:{survey.id}")
        return [f"survey {survey_id} ({survey.acquired_on}): FAILED, {error}" + (f"; alert {alert}" if alert else "")]

    def _nodata(
        self, session: Any, site: Site, config: SiteConfig, survey: Survey | None, reason: str, key: str
    ) -> int | None:
        alert = record_assessment(
            session,
            site,
            config,
            AssessmentInput("nodata", "nodata", {"reasons": [reason]}, key, survey, None, [], 0, "-"),
            self.ws.home / "evidence" / site.slug,
        )
        return alert.id if alert else None

    def _store(self, site_slug: str, survey_id: int, config: SiteConfig, prepared: _Prepared) -> list[str]:
        reg = prepared.registration
        rules = config.rules
        registered = _registered(reg, rules)
        with self.ws.store.transaction() as session:
            if not self._claim(session, survey_id, "processed" if registered else "flagged"):
                return []
            site = get_site(session, site_slug)
            survey = session.get_one(Survey, survey_id)
            reference = session.get(Survey, prepared.reference_id) if prepared.reference_id else None
            survey.processed_at = utcnow()
            survey.reference_survey_id = prepared.reference_id
            if reg is not None:
                survey.reg_ok = registered
                survey.reg_dx_m, survey.reg_dy_m, survey.reg_residual_m = (
                    v if math.isfinite(v) else None for v in (reg.dx_m, reg.dy_m, reg.residual_m)
                )
                survey.reg_detail = reg.to_dict()
            frame = _site_frame(reference, reg) if registered else (0.0, 0.0)
            if registered:
                survey.frame_dx_m, survey.frame_dy_m = frame
            run = Run(
                survey_id=survey.id,
                out_dir=str(prepared.out_dir),
                finished_at=utcnow(),
                model_version=model_version(prepared.manifest),
                manifest=prepared.manifest,
            )
            session.add(run)
            session.flush()
            rows = [c.to_row(run.id, survey.id, *frame) for c in read_detected_cracks(prepared.out_dir / GPKG_NAME)]
            session.add_all(rows)
            session.flush()
            head = f"survey {survey.id} ({survey.acquired_on}): {len(rows)} cracks"
            if not registered:
                assert reg is not None
                why = reg.reason or (
                    f"registration residual {reg.residual_m:.3f} m exceeds {rules.max_registration_residual_m} m"
                )
                reason = (
                    f"survey {survey.id} of {survey.acquired_on} could not be co-registered: {why}; no growth computed"
                )
                alert = self._nodata(session, site, config, survey, reason, f"survey:{survey.id}")
                return [f"{head}; FLAGGED, {why}" + (f"; alert {alert}" if alert else "")]
            reg_unc = (reg.residual_m / reg.crs_unit_m) if reg is not None else 0.0
            discounted = prepared.seen_before + prepared.no_line
            with _gap_evidence(survey, prepared.out_dir, frame, rules) as gap_evidence:
                outcome = track_survey(
                    session, survey, rows, rules, BASE_BUFFER_M + 3.0 * reg_unc, discounted, gap_evidence
                )
            new_by_zone = outcome.new_by_zone if reference is not None else {}
            history = [
                Previous.from_detail(a.level, a.candidate_level, a.detail)
                for a in session.scalars(
                    select(Assessment)
                    .where(
                        Assessment.site_id == site.id,
                        Assessment.survey_id.is_not(None),
                        Assessment.level != "nodata",
                    )
                    .order_by(Assessment.id.desc())
                    .limit(10)
                )
            ]
            _, level_before = current_levels(session, site.id)
            decision = evaluate(rules, survey.acquired_on, outcome.signals, new_by_zone, history, level_before)
            raised = record_assessment(
                session,
                site,
                config,
                AssessmentInput(
                    decision.level,
                    decision.candidate,
                    decision.detail(),
                    f"survey:{survey.id}",
                    survey,
                    reference.acquired_on if reference else None,
                    _evidence_items(outcome.cracks, decision.track_levels),
                    sum(new_by_zone.values()),
                    run.model_version,
                ),
                self.ws.home / "evidence" / site.slug,
            )
            shift = f"shift {math.hypot(*frame):.3f} m" if reference is not None else "reference survey"
            grown = [c.growth for c in outcome.cracks if c.growth]
            extending = sum(1 for g in grown if g.extension.significant)
            changed = sum(1 for g in grown if g.significant and not g.extension.significant)
            seen_m = sum(line.length for line in prepared.seen_before)
            faint_m = sum(line.length for line in prepared.no_line)
            rechecked = f"; {seen_m:.2f} m new on the map but seen in earlier imagery" if seen_m else ""
            rechecked += f"; {faint_m:.2f} m new on the map but no line in the imagery" if faint_m else ""
            line = (
                f"{head}, {extending} extending significantly ({changed} more with a significant change of length "
                f"or width), {sum(new_by_zone.values())} new; {shift}{rechecked}; "
                f"level {decision.level.upper()}"
            )
            return [line + (f"; alert {raised.id}" if raised else "")]

    def check_overdue(self, site_slug: str, config: SiteConfig, today: date) -> list[str]:
        """Raise "no data" when the site's latest survey is older than the rules allow."""
        with self.ws.store.transaction() as session:
            site = get_site(session, site_slug)
            latest = session.scalar(
                select(Survey).where(Survey.site_id == site.id).order_by(Survey.acquired_on.desc()).limit(1)
            )
            if latest is None:
                return []
            age = (today - latest.acquired_on).days
            key = f"overdue:{latest.id}"
            if age <= config.rules.overdue_days or session.scalar(
                select(Assessment.id).where(Assessment.site_id == site.id, Assessment.trigger_key == key)
            ):
                return []
            reason = (
                f"survey overdue: the latest survey is from {latest.acquired_on}, {age} days ago "
                f"(rules allow {config.rules.overdue_days:g})"
            )
            alert = self._nodata(session, site, config, None, reason, key)
        return [f"{site_slug}: {reason}" + (f"; alert {alert}" if alert else "")]


def _evidence_items(cracks: list[TrackedCrack], track_levels: dict[int, str]) -> list[TrackedCrack]:
    return [
        c
        for c in cracks
        if (c.growth and c.growth.significant) or c.kind == "new" or track_levels.get(c.track_id, "green") != "green"
    ]


def monitor(
    ws: Workspace,
    site_slug: str | None = None,
    *,
    processor: Processor | None = None,
    today: date | None = None,
    deliver: bool = True,
    retry_failed: bool = False,
) -> MonitorReport:
    """Process pending surveys of one site (or all), check for overdue surveys, then send due alerts."""
    processor = processor or Processor(ws)
    report = MonitorReport()
    today = today or datetime.now(UTC).date()
    with ws.store.transaction() as session:
        sites = [get_site(session, site_slug)] if site_slug else list(session.scalars(select(Site).order_by(Site.slug)))
        slugs = [s.slug for s in sites]
    for slug in slugs:
        with ws.store.transaction() as session:
            site = get_site(session, slug)
            config = ws.site_config(site)
            if retry_failed:
                session.execute(
                    update(Survey).where(Survey.site_id == site.id, Survey.status == "failed").values(status="pending")
                )
            pending = list(
                session.scalars(
                    select(Survey.id)
                    .where(Survey.site_id == site.id, Survey.status == "pending")
                    .order_by(Survey.acquired_on)
                )
            )
        for survey_id in pending:
            report.lines += [f"{slug}: {line}" for line in processor.process(slug, survey_id, config)]
        report.lines += processor.check_overdue(slug, config, today)
        log_event(log, "site done", site=slug, surveys=len(pending))
    failpoint("monitor.before-deliver")
    if deliver:
        report.outbox = flush_site_outbox(ws)
    return report


def flush_site_outbox(ws: Workspace, *, force: bool = False, now: datetime | None = None) -> FlushReport:
    """Queue the due reminders, then send the due deliveries of every site with its configured channels."""
    queue_reminders(ws, now or datetime.now(UTC))

    def base_dir(site: Site) -> Path | None:
        return Path(site.config_path).parent if site.config_path else ws.home

    return flush_outbox(ws.store, site_channels(base_dir, ws.site_config), force=force, now=now)
