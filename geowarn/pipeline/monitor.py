"""Process a site's pending surveys in date order: detect, register, track, assess, alert.

Each site is a unit of its own, and so is each survey: whatever goes wrong with one (its YAML
deleted or invalid, a file moved away, a value no stage expected) is recorded on that survey
(``failed``, with the reason) or that site (``sites.error``, shown by ``geowarn site show``), and
the other sites, the overdue checks and the deliveries go on. Surveys are tracked in date order:
one older than a survey processed already fails with that reason (remove it). Per survey, the slow
work (detection, registration, the look-back at earlier imagery) happens first and outside any
transaction; then one transaction claims the survey (``pending`` →
``processed``/``flagged``) and stores its run, cracks, tracks, growth, assessment, alert and outbox
rows together. Running ``monitor`` twice, or two at once, therefore never duplicates surveys,
cracks or alerts, and a crash leaves the survey pending so the next run redoes it (reusing the
finished detection outputs). Deliveries go out after the commit (see ``geowarn.alerts.outbox``).
Each stage takes its own part of the site's rules (``geowarn.workspace.site_config``).
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

from shapely.geometry.base import BaseGeometry
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from geowarn.alerts.issue import AlertInput, issue_alert
from geowarn.assess.levels import evaluate
from geowarn.assess.record import (
    AssessmentInput,
    current_levels,
    recent_history,
    record_assessment,
    unused_trigger_key,
)
from geowarn.assess.signals import count_new_cracks, track_signals
from geowarn.errors import GeowarnError
from geowarn.faults import failpoint
from geowarn.inference.cascade import Cascade
from geowarn.io.outputs import GPKG_NAME, PROB_NAME
from geowarn.logs import log_event
from geowarn.pipeline.deliver import flush_site_outbox, reason
from geowarn.pipeline.detect import RUN_NAME, detect
from geowarn.pipeline.detect_config import MONITOR_DETECT_DEFAULTS, DetectConfig
from geowarn.pipeline.report import MonitorReport, OverdueResult, SiteFailure, SurveyResult
from geowarn.pipeline.rows import load_cascade
from geowarn.redact import redact
from geowarn.registration import Registration, register_surveys
from geowarn.store.queries import get_site, processed_before
from geowarn.store.schema import Assessment, Crack, Run, Site, Survey, utcnow
from geowarn.tracking.coverage import Coverage
from geowarn.tracking.cracks import read_detected_cracks
from geowarn.tracking.join_gap import GapEvidence
from geowarn.tracking.lookback import survey_lookback
from geowarn.tracking.opening import OpeningGauge
from geowarn.tracking.step import TrackedCrack, TrackingOutcome, track_survey
from geowarn.workspace import WorkspaceDir
from geowarn.workspace.site_config import SiteConfig

#: Monitoring's public logger name (``geowarn detect`` logs as ``geowarn.detect``).
log = logging.getLogger("geowarn.monitor")


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


def _evidence_items(cracks: list[TrackedCrack], track_levels: dict[int, str]) -> list[TrackedCrack]:
    return [
        c
        for c in cracks
        if (c.growth and c.growth.significant) or c.kind == "new" or track_levels.get(c.track_id, "green") != "green"
    ]


class Processor:
    """Processes pending surveys with one loaded cascade."""

    def __init__(
        self,
        ws: WorkspaceDir,
        detect_config: DetectConfig | None = None,
        cascade: Cascade | None = None,
        registrar: Callable[[Path, Path], Registration] = register_surveys,
    ) -> None:
        self.ws = ws
        self.detect_config = detect_config or DetectConfig(**MONITOR_DETECT_DEFAULTS)
        self._cascade = cascade
        self._cascade_error: GeowarnError | None = None
        self.registrar = registrar

    @property
    def cascade(self) -> Cascade:
        """The models, loaded on first use; a failure to load is kept and raised again without retrying."""
        if self._cascade_error is not None:
            raise self._cascade_error
        if self._cascade is None:
            try:
                self._cascade = load_cascade(self.detect_config)
            except GeowarnError as exc:
                self._cascade_error = exc
                raise
        return self._cascade

    def _prepare(self, site: Site, survey: Survey, reference: Survey | None, config: SiteConfig) -> _Prepared:
        """Detection, co-registration and the look-back: the slow work, outside any transaction."""
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
        prepared = _Prepared(manifest, out_dir, reference.id if reference else None, registration)
        tracking = config.rules.tracking
        if reference is not None and tracking.lookback_surveys and config.rules.registration.accepts(registration):
            seen, no_line = survey_lookback(
                self.ws.store,
                survey,
                _site_frame(reference, registration),
                out_dir / GPKG_NAME,
                self.cascade,
                tracking,
                self.detect_config.target_gsd_m,
            )
            prepared.seen_before, prepared.no_line = list(seen), list(no_line)
        return prepared

    def process(self, site_slug: str, survey_id: int, config: SiteConfig) -> SurveyResult | None:
        """Process one pending survey (None when it is no longer pending).

        A failure of this survey (its file, its detection, storing its results) marks it failed with
        the reason; models that cannot be loaded concern every survey and are raised instead.
        """
        with self.ws.store.transaction() as session:
            site = get_site(session, site_slug)
            survey = session.get_one(Survey, survey_id)
            if survey.status != "pending":
                return None
            reference = session.scalar(processed_before(survey).limit(1))
            later = session.scalar(
                select(Survey)
                .where(
                    Survey.site_id == site.id,
                    Survey.id != survey.id,
                    Survey.status.in_(("processed", "flagged")),
                    Survey.acquired_on >= survey.acquired_on,
                )
                .order_by(Survey.acquired_on)
                .limit(1)
            )
        if later is not None:
            return self._fail(
                site_slug,
                survey_id,
                config,
                f"survey {later.id} of {later.acquired_on} was processed before it and is not older; surveys are "
                f"tracked in date order, so this one can no longer be processed: remove it with "
                f"'geowarn survey remove {site_slug} {survey_id}'",
                assess=False,
            )
        _ = self.cascade  # models that do not load stop every survey, not just this one
        try:
            prepared = self._prepare(site, survey, reference, config)
        except Exception as exc:
            log.exception("survey %s failed", survey_id)
            return self._fail(site_slug, survey_id, config, reason(exc))
        failpoint("monitor.before-store")
        try:
            return self._store(site_slug, survey_id, config, prepared)
        except Exception as exc:
            log.exception("survey %s: storing its results failed", survey_id)
            return self._fail(site_slug, survey_id, config, f"storing its results failed: {reason(exc)}")

    def _claim(self, session: Session, survey_id: int, status: str) -> bool:
        result = session.execute(
            update(Survey).where(Survey.id == survey_id, Survey.status == "pending").values(status=status)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _fail(
        self, site_slug: str, survey_id: int, config: SiteConfig, error: str, *, assess: bool = True
    ) -> SurveyResult | None:
        """Mark the survey failed with ``error``; with ``assess``, the site goes to "no data" (and alerts).

        When even the "no data" alert cannot be stored, the survey is still marked failed, and the
        problem is raised for the site's record.
        """
        error = redact(error)
        try:
            return self._fail_once(site_slug, survey_id, config, error, assess)
        except Exception as exc:
            if not assess:
                raise
            self._fail_once(site_slug, survey_id, config, error, False)
            raise RuntimeError(f"survey {survey_id} failed ({error}), and its no-data alert failed too: {exc}") from exc

    def _fail_once(
        self, site_slug: str, survey_id: int, config: SiteConfig, error: str, assess: bool
    ) -> SurveyResult | None:
        with self.ws.store.transaction() as session:
            if not self._claim(session, survey_id, "failed"):
                return None
            site = get_site(session, site_slug)
            survey = session.get_one(Survey, survey_id)
            survey.error, survey.processed_at = error, utcnow()
            alert = None
            if assess:
                reason = f"processing failed for survey {survey.id} of {survey.acquired_on}: {error}"
                key = unused_trigger_key(session, site.id, f"survey:{survey.id}")
                alert = self._nodata(session, site, config, survey, reason, key)
            failpoint("monitor.fail-before-commit")
            return SurveyResult(site_slug, survey_id, survey.acquired_on, "failed", reason=error, alert_id=alert)

    def _assess(
        self, session: Session, site: Site, config: SiteConfig, assessment: AssessmentInput, alert: AlertInput
    ) -> int | None:
        """Record the assessment; on a change of level, issue the alert. Returns the alert id, if any."""
        row, before = record_assessment(session, site, assessment)
        if row.level == before:
            return None
        return issue_alert(session, site, row, before, alert, config, self.ws.home / "evidence" / site.slug).id

    def _nodata(
        self, session: Session, site: Site, config: SiteConfig, survey: Survey | None, reason: str, key: str
    ) -> int | None:
        return self._assess(
            session,
            site,
            config,
            AssessmentInput("nodata", "nodata", {"reasons": [reason]}, key, survey),
            AlertInput([reason], survey, None, [], 0, "-"),
        )

    def _store(self, site_slug: str, survey_id: int, config: SiteConfig, prepared: _Prepared) -> SurveyResult | None:
        """The survey's one transaction: claim it, then store its run, registration, tracks, assessment and alert."""
        reg = prepared.registration
        registered = config.rules.registration.accepts(reg)
        with self.ws.store.transaction() as session:
            if not self._claim(session, survey_id, "processed" if registered else "flagged"):
                return None
            site = get_site(session, site_slug)
            survey = session.get_one(Survey, survey_id)
            reference = session.get(Survey, prepared.reference_id) if prepared.reference_id else None
            frame = _site_frame(reference, reg) if registered else (0.0, 0.0)
            self._record_registration(survey, prepared.reference_id, reg, registered, frame)
            run, rows = self._store_run(session, survey, prepared, frame)
            if not registered:
                assert reg is not None
                why = reg.reason or (
                    f"registration residual {reg.residual_m:.3f} m exceeds "
                    f"{config.rules.registration.max_registration_residual_m} m"
                )
                reason = (
                    f"survey {survey.id} of {survey.acquired_on} could not be co-registered: {why}; no growth computed"
                )
                key = unused_trigger_key(session, site.id, f"survey:{survey.id}")
                alert = self._nodata(session, site, config, survey, reason, key)
                return SurveyResult(
                    site_slug, survey.id, survey.acquired_on, "flagged", cracks=len(rows), reason=why, alert_id=alert
                )
            outcome = self._track(session, survey, rows, prepared, frame, reg, config)
            settings = config.rules.assessment
            new_by_zone = count_new_cracks(outcome.new_pieces, settings) if reference is not None else {}
            _, level_before = current_levels(session, site.id)
            decision = evaluate(
                settings,
                survey.acquired_on,
                track_signals(outcome.grown, settings),
                new_by_zone,
                recent_history(session, site.id),
                level_before,
            )
            alert = self._assess(
                session,
                site,
                config,
                AssessmentInput(
                    decision.level,
                    decision.candidate,
                    decision.detail(),
                    unused_trigger_key(session, site.id, f"survey:{survey.id}"),
                    survey,
                ),
                AlertInput(
                    decision.reasons,
                    survey,
                    reference.acquired_on if reference else None,
                    _evidence_items(outcome.cracks, decision.track_levels),
                    sum(new_by_zone.values()),
                    run.model_version,
                ),
            )
            grown = [c.growth for c in outcome.cracks if c.growth]
            failpoint("monitor.before-commit")
            return SurveyResult(
                site_slug,
                survey.id,
                survey.acquired_on,
                "processed",
                cracks=len(rows),
                extending=sum(1 for g in grown if g.extension.significant),
                changed=sum(1 for g in grown if g.significant and not g.extension.significant),
                new=sum(new_by_zone.values()),
                shift_m=math.hypot(*frame) if reference is not None else None,
                step_m=math.hypot(reg.dx_m, reg.dy_m) if reference is not None and reg is not None else None,
                seen_before_m=sum(line.length for line in prepared.seen_before),
                no_line_m=sum(line.length for line in prepared.no_line),
                level=decision.level,
                alert_id=alert,
            )

    @staticmethod
    def _record_registration(
        survey: Survey, reference_id: int | None, reg: Registration | None, registered: bool, frame: tuple[float, float]
    ) -> None:
        survey.processed_at, survey.error = utcnow(), None  # an earlier failure's reason no longer holds
        survey.reference_survey_id = reference_id
        if reg is not None:
            survey.reg_ok = registered
            survey.reg_dx_m, survey.reg_dy_m, survey.reg_residual_m = (
                v if math.isfinite(v) else None for v in (reg.dx_m, reg.dy_m, reg.residual_m)
            )
            survey.reg_detail = reg.to_dict()
        if registered:
            survey.frame_dx_m, survey.frame_dy_m = frame

    @staticmethod
    def _store_run(
        session: Session, survey: Survey, prepared: _Prepared, frame: tuple[float, float]
    ) -> tuple[Run, list[Crack]]:
        """The detection run and its cracks (moved into the site frame)."""
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
        return run, rows

    @staticmethod
    def _track(
        session: Session,
        survey: Survey,
        rows: list[Crack],
        prepared: _Prepared,
        frame: tuple[float, float],
        reg: Registration | None,
        config: SiteConfig,
    ) -> TrackingOutcome:
        """Match the survey's cracks to the site's tracks, with the look-back's pieces and the gap evidence."""
        settings = config.rules.tracking
        reg_unc = (reg.residual_m / reg.crs_unit_m) if reg is not None else 0.0
        evidence = GapEvidence.for_survey(
            Path(survey.path), prepared.out_dir / PROB_NAME, frame, survey.gsd_m, settings
        )
        gauge = OpeningGauge(Path(survey.path), frame) if settings.opening_from_ground else None
        coverage = Coverage(Path(survey.path), frame, settings.edge_margin_px * survey.gsd_m + 3.0 * reg_unc)
        with evidence:
            try:
                return track_survey(
                    session,
                    survey,
                    rows,
                    settings,
                    reg_unc,
                    prepared.seen_before + prepared.no_line,
                    evidence,
                    gauge,
                    coverage,
                )
            finally:
                if gauge is not None:
                    gauge.close()

    def check_overdue(self, site_slug: str, config: SiteConfig, today: date) -> OverdueResult | None:
        """Raise "no data" when the site's latest survey is older than the rules allow."""
        overdue_days = config.rules.assessment.overdue_days
        with self.ws.store.transaction() as session:
            site = get_site(session, site_slug)
            latest = session.scalar(
                select(Survey).where(Survey.site_id == site.id).order_by(Survey.acquired_on.desc()).limit(1)
            )
            if latest is None:
                return None
            age = (today - latest.acquired_on).days
            key = f"overdue:{latest.id}"
            if age <= overdue_days or session.scalar(
                select(Assessment.id).where(Assessment.site_id == site.id, Assessment.trigger_key == key)
            ):
                return None
            reason = (
                f"survey overdue: the latest survey is from {latest.acquired_on}, {age} days ago "
                f"(rules allow {overdue_days:g})"
            )
            alert = self._nodata(session, site, config, None, reason, key)
        return OverdueResult(site_slug, reason, alert)


def _site_error(ws: WorkspaceDir, slug: str, error: str | None) -> None:
    """Record (or clear, with None) why the site's monitoring stopped short."""
    with ws.store.transaction() as session:
        site = get_site(session, slug)
        if site.error != error:
            site.error, site.error_at = error, (utcnow() if error else None)


class SiteStoppedError(Exception):
    """A site's surveys stopped short; ``results``: what was done before (the overdue check included)."""

    def __init__(self, cause: Exception, results: list[SurveyResult | OverdueResult]) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.results = results


def monitor_site(
    ws: WorkspaceDir,
    slug: str,
    processor: Processor,
    today: date,
    retry_failed: bool = False,
    overdue_days: float | None = None,
) -> list[SurveyResult | OverdueResult]:
    """One site's unit of work: its pending surveys in date order, then its overdue check.

    ``overdue_days``: how often a survey is expected, instead of the site's ``rules.overdue_days``.

    Raises:
        SiteStoppedError: the surveys stopped short (models that do not load...); the overdue check ran.
        Exception: whatever else stopped the site (its YAML unreadable...).

    """
    results: list[SurveyResult | OverdueResult] = []
    with ws.store.transaction() as session:
        site = get_site(session, slug)
        config = ws.site_config(site)
        if overdue_days is not None:
            rules = config.rules.model_copy(update={"overdue_days": overdue_days})
            config = config.model_copy(update={"rules": rules})
        if retry_failed:
            session.execute(
                update(Survey).where(Survey.site_id == site.id, Survey.status == "failed").values(status="pending")
            )
        pending = list(
            session.scalars(
                select(Survey.id)
                .where(Survey.site_id == site.id, Survey.status == "pending")
                .order_by(Survey.acquired_on, Survey.id)
            )
        )
    stopped: Exception | None = None
    try:
        for survey_id in pending:
            result = processor.process(slug, survey_id, config)
            if result is not None:
                results.append(result)
    except Exception as exc:  # models that do not load...: the overdue check still runs
        stopped = exc
    overdue = processor.check_overdue(slug, config, today)
    if overdue is not None:
        results.append(overdue)
    if stopped is not None:
        raise SiteStoppedError(stopped, results)
    log_event(log, "site done", site=slug, surveys=len(pending))
    return results


def monitor(
    ws: WorkspaceDir,
    site_slug: str | None = None,
    *,
    processor: Processor | None = None,
    today: date | None = None,
    deliver: bool = True,
    retry_failed: bool = False,
    overdue_days: float | None = None,
) -> MonitorReport:
    """Process pending surveys of one site (or all), check for overdue surveys, then send due alerts.

    ``overdue_days``: how often a survey is expected, instead of each site's ``rules.overdue_days``.

    A site that cannot be monitored is recorded (``sites.error``) and reported as a
    :class:`SiteFailure`; the other sites and the deliveries go on.

    Raises:
        ConfigError: ``site_slug`` names no site.

    """
    processor = processor or Processor(ws)
    report = MonitorReport()
    today = today or datetime.now(UTC).date()
    with ws.store.transaction() as session:
        slugs = (
            [get_site(session, site_slug).slug]
            if site_slug
            else list(session.scalars(select(Site.slug).order_by(Site.slug)))
        )
    for slug in slugs:
        try:
            report.results += monitor_site(ws, slug, processor, today, retry_failed, overdue_days)
        except Exception as exc:
            if isinstance(exc, SiteStoppedError):
                report.results += exc.results
                exc = exc.cause
            why = reason(exc)
            log_event(log, "site not monitored", level=logging.ERROR, site=slug, error=why)
            report.results.append(SiteFailure(slug, why))
            _site_error(ws, slug, why)
        else:
            _site_error(ws, slug, None)
    failpoint("monitor.before-deliver")
    if deliver:
        try:
            report.outbox = flush_site_outbox(ws)
        except Exception as exc:
            report.delivery_error = reason(exc)
            log_event(log, "deliveries not sent", level=logging.ERROR, error=report.delivery_error)
    return report
