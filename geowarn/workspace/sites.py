"""Sites and their surveys: adding, listing, and retrying, replacing or removing a survey that failed.

Every value is checked when it is entered (``geowarn.inputs``): a site id, a name, a date, a file.
Re-adding the same file is a no-op, never a second survey. A site's surveys have distinct dates,
each added after the latest one, failed surveys included; adding, replacing and removing lock the
site's row first, so two commands at once cannot both pass these checks.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geowarn import inputs
from geowarn.assess.record import current_levels
from geowarn.errors import ConfigError
from geowarn.faults import failpoint
from geowarn.io.raster import RasterInfo, open_orthomosaic
from geowarn.provenance import sha256_file
from geowarn.store.queries import get_site, lock_site
from geowarn.store.schema import Alert, Assessment, Run, Site, Survey, Track
from geowarn.workspace import WorkspaceDir
from geowarn.workspace.site_config import load_site_config

#: Surveys that may be retried, replaced or removed: nothing was built on them.
OPEN_STATES = ("pending", "failed")


def add_site(ws: WorkspaceDir, slug: str, name: str | None = None, config: Path | None = None) -> SiteInfo:
    """Create a site; its YAML config (if any) is validated now and re-read at every monitor run.

    Raises:
        ConfigError: bad id or name, existing site, or invalid config.

    """
    slug = inputs.entered("site id", slug, inputs.slug)
    name = inputs.entered("site name", name if name is not None else slug, inputs.one_line)
    if config is not None:
        load_site_config(config)
        config = config.resolve()
    exists = ConfigError(f"site {slug!r} exists already; see it with: geowarn site show {slug}")
    try:
        with ws.store.transaction() as session:
            if session.scalar(select(Site).where(Site.slug == slug)) is not None:
                raise exists
            site = Site(slug=slug, name=name, config_path=str(config) if config else None)
            session.add(site)
            session.flush()
            return _summary(session, site)
    except IntegrityError:  # added at the same moment by another command
        raise exists from None


def configure_site(ws: WorkspaceDir, slug: str, name: str | None = None, config: Path | None = None) -> SiteInfo:
    """Give an existing site another name and/or YAML config (validated now; None keeps the current one).

    Raises:
        ConfigError: no such site, a bad name or an invalid config.

    """
    if name is not None:
        name = inputs.entered("site name", name, inputs.one_line)
    if config is not None:
        load_site_config(config)
        config = config.resolve()
    with ws.store.transaction() as session:
        site = lock_site(session, slug)
        if name is not None:
            site.name = name
        if config is not None:
            site.config_path = str(config)
        return _summary(session, site)


@dataclass(frozen=True)
class SurveyAdded:
    """Outcome of ``survey add`` (and ``replace``, ``retry``): the survey and whether it was new."""

    survey_id: int
    created: bool
    message: str


def _checked_file(ortho: Path, max_pixels: float | None) -> tuple[Path, RasterInfo, str]:
    path = ortho.resolve()
    info = open_orthomosaic(path, max_pixels=max_pixels)
    return path, info, sha256_file(path)


def _check_crs(site: Site, slug: str, path: Path, info: RasterInfo) -> None:
    if site.crs is not None and site.crs != info.crs_wkt:
        raise ConfigError(
            f"{path}: CRS {info.crs_name} differs from site {slug}'s CRS; "
            f"warp it first: gdalwarp -t_srs <the site's CRS> {path} out.tif"
        )


def _fixes(slug: str, survey: Survey) -> str:
    if survey.status == "failed":
        return (
            f"survey {survey.id} failed ({survey.error or 'no reason recorded'}); replace its file with "
            f"'geowarn survey replace {slug} {survey.id} FILE', retry it with "
            f"'geowarn survey retry {slug} {survey.id}' or remove it with 'geowarn survey remove {slug} {survey.id}'"
        )
    return "surveys are tracked in date order, so pass the right --date or start a new site"


def add_survey(
    ws: WorkspaceDir, slug: str, ortho: Path, acquired_on: date, *, max_pixels: float | None = None
) -> SurveyAdded:
    """Register an orthomosaic as a pending survey of the site.

    The file is validated (``max_pixels``: the size limit, default ``$GEOWARN_MAX_PIXELS`` or 4e9)
    and hashed; the same file (sha256) for the same site is a no-op.

    Raises:
        InvalidRasterError: the file is not a usable orthomosaic (nothing is stored).
        ConfigError: unknown site, CRS different from the site's, a date in the future or not after
            the site's latest survey (failed ones included).

    """
    acquired_on = inputs.entered("survey date", acquired_on, inputs.survey_date)
    path, info, digest = _checked_file(ortho, max_pixels)
    failpoint("survey-add.after-validate")
    try:
        return _insert_survey(ws, slug, path, info, digest, acquired_on)
    except IntegrityError:  # the same file added at this moment where the site lock does not hold: now a no-op
        return _insert_survey(ws, slug, path, info, digest, acquired_on)


def _insert_survey(
    ws: WorkspaceDir, slug: str, path: Path, info: RasterInfo, digest: str, acquired_on: date
) -> SurveyAdded:
    with ws.store.transaction() as session:
        site = lock_site(session, slug)
        existing = session.scalar(select(Survey).where(Survey.site_id == site.id, Survey.sha256 == digest))
        if existing is not None:
            return SurveyAdded(
                existing.id,
                False,
                f"{path} is already survey {existing.id} of {slug} ({existing.acquired_on}, {existing.status}); "
                "nothing added",
            )
        _check_crs(site, slug, path, info)
        latest = session.scalar(
            select(Survey).where(Survey.site_id == site.id).order_by(Survey.acquired_on.desc(), Survey.id).limit(1)
        )
        if latest is not None and acquired_on <= latest.acquired_on:
            same = acquired_on == latest.acquired_on
            raise ConfigError(
                f"{path}: survey date {acquired_on} is "
                + (f"the date of survey {latest.id}" if same else f"not after the site's latest survey, {latest.id}")
                + f" ({latest.acquired_on}, {latest.status}); {_fixes(slug, latest)}"
            )
        site.crs = site.crs or info.crs_wkt
        survey = Survey(
            site_id=site.id,
            path=str(path),
            sha256=digest,
            acquired_on=acquired_on,
            width=info.width,
            height=info.height,
            gsd_m=info.gsd_m,
            crs=info.crs_name,
        )
        session.add(survey)
        session.flush()
        failpoint("survey-add.before-commit")
        added = SurveyAdded(survey.id, True, f"added survey {survey.id} of {slug} ({acquired_on}, pending)")
    failpoint("survey-add.after-commit")
    return added


def _open_survey(session: Session, slug: str, survey_id: int, action: str) -> tuple[Site, Survey]:
    """The site (locked) and its survey ``survey_id``, which must be pending or failed."""
    survey_id = inputs.entered("survey id", survey_id, inputs.row_id)
    site = lock_site(session, slug)
    survey = session.get(Survey, survey_id)
    if survey is None or survey.site_id != site.id:
        raise ConfigError(f"site {slug} has no survey {survey_id}; list them with: geowarn site show {slug}")
    if survey.status not in OPEN_STATES:
        raise ConfigError(
            f"survey {survey_id} of {slug} is {survey.status}: its cracks and growth are part of the site's history, "
            f"so it cannot be {action}; only pending or failed surveys can"
        )
    return site, survey


def retry_survey(ws: WorkspaceDir, slug: str, survey_id: int) -> SurveyAdded:
    """Make a failed survey pending again, so that the next ``monitor`` processes it (a pending one: no-op).

    Raises:
        ConfigError: no such survey, or it is processed or flagged.

    """
    with ws.store.transaction() as session:
        _, survey = _open_survey(session, slug, survey_id, "retried")
        if survey.status == "pending":
            return SurveyAdded(survey.id, False, f"survey {survey.id} of {slug} is pending already")
        survey.status, survey.error = "pending", None
        return SurveyAdded(survey.id, False, f"survey {survey.id} of {slug} ({survey.acquired_on}) is pending again")


def replace_survey(
    ws: WorkspaceDir, slug: str, survey_id: int, ortho: Path, *, max_pixels: float | None = None
) -> SurveyAdded:
    """Give a pending or failed survey another file (same date); it becomes pending.

    Raises:
        InvalidRasterError: the new file is not a usable orthomosaic (nothing changes).
        ConfigError: no such survey, it is processed or flagged, the file is another survey's, or its
            CRS is not the site's.

    """
    path, info, digest = _checked_file(ortho, max_pixels)
    with ws.store.transaction() as session:
        site, survey = _open_survey(session, slug, survey_id, "replaced")
        other = session.scalar(select(Survey).where(Survey.site_id == site.id, Survey.sha256 == digest))
        if other is not None and other.id != survey.id:
            raise ConfigError(f"{path} is already survey {other.id} of {slug} ({other.acquired_on}); nothing changed")
        _check_crs(site, slug, path, info)
        old_dir = ws.run_dir(site, survey)
        survey.path, survey.sha256, survey.width, survey.height = str(path), digest, info.width, info.height
        survey.gsd_m, survey.crs, survey.status, survey.error = info.gsd_m, info.crs_name, "pending", None
        message = f"survey {survey.id} of {slug} ({survey.acquired_on}) now reads {path}, pending"
    shutil.rmtree(old_dir, ignore_errors=True)
    return SurveyAdded(survey_id, False, message)


def remove_survey(ws: WorkspaceDir, slug: str, survey_id: int) -> str:
    """Delete a pending or failed survey (its "no data" alerts stay, without it); returns a message.

    Raises:
        ConfigError: no such survey, or it is processed or flagged.

    """
    with ws.store.transaction() as session:
        site, survey = _open_survey(session, slug, survey_id, "removed")
        run_dir, when = ws.run_dir(site, survey), survey.acquired_on
        session.execute(
            update(Assessment)
            .where(Assessment.survey_id == survey.id)
            .values(survey_id=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(Survey)
            .where(Survey.id == survey.id, Survey.status.in_(OPEN_STATES))
            .execution_options(synchronize_session=False)
        )
    shutil.rmtree(run_dir, ignore_errors=True)
    return f"survey {survey_id} of {slug} ({when}) removed; a survey of that date can be added again"


@dataclass(frozen=True)
class SiteInfo:
    """A site at a glance: its surveys, tracked cracks, level and open acknowledgements.

    ``flagged`` counts the surveys that gave no growth (flagged or failed), ``failed`` the failed
    ones; ``error`` says why the site's last monitoring run stopped short (None once one went through);
    ``overdue_days``: the age of the latest survey past which the site is overdue (its rules).
    """

    site: str
    name: str
    config: str | None
    surveys: int
    pending: int
    flagged: int
    last_survey: date | None
    tracks: int
    level: str
    unacknowledged: int
    failed: int = 0
    error: str | None = None
    overdue_days: float | None = None

    def is_overdue(self, today: date | None = None) -> bool:
        """Whether the latest survey is older than the rules' ``overdue_days`` (``today``: default UTC today)."""
        if self.last_survey is None or self.overdue_days is None:
            return False
        today = today or datetime.now(UTC).date()
        return (today - self.last_survey).days > self.overdue_days


@dataclass(frozen=True)
class SurveyInfo:
    """One survey of a site: its status and co-registration (``None`` for the reference survey).

    ``registration`` holds ``ok``, the shift onto the previous survey (``dx_m``, ``dy_m``), its
    ``residual_m`` and, when it failed, the ``reason``.

    ``frame_offset_m`` moves the survey's own coordinates into the site frame (the frame of its
    cracks; None until processed); ``outputs`` is the folder of its latest detection run
    (``crack_prob.tif``, ``cracks.gpkg``...), None before one.
    """

    id: int
    date: date
    status: str
    path: str
    registration: dict[str, Any] | None
    error: str | None
    frame_offset_m: tuple[float, float] | None = None
    outputs: str | None = None


def list_sites(ws: WorkspaceDir) -> list[SiteInfo]:
    """Every site, by id."""
    with ws.store.transaction() as session:
        return [_summary(session, site) for site in session.scalars(select(Site).order_by(Site.slug))]


def site_info(ws: WorkspaceDir, slug: str) -> SiteInfo:
    """The site called ``slug``.

    Raises:
        ConfigError: no such site.

    """
    with ws.store.transaction() as session:
        return _summary(session, get_site(session, slug))


def list_surveys(ws: WorkspaceDir, slug: str) -> list[SurveyInfo]:
    """The surveys of a site, oldest first.

    Raises:
        ConfigError: no such site.

    """
    with ws.store.transaction() as session:
        site = get_site(session, slug)
        surveys = session.scalars(select(Survey).where(Survey.site_id == site.id).order_by(Survey.acquired_on)).all()
        runs = dict(
            session.execute(
                select(Run.survey_id, Run.out_dir).where(Run.survey_id.in_([s.id for s in surveys])).order_by(Run.id)
            ).all()
        )
        return [
            SurveyInfo(
                s.id,
                s.acquired_on,
                s.status,
                s.path,
                None
                if s.reg_ok is None
                else {
                    "ok": s.reg_ok,
                    "dx_m": s.reg_dx_m,
                    "dy_m": s.reg_dy_m,
                    "residual_m": s.reg_residual_m,
                    "reason": (s.reg_detail or {}).get("reason"),
                },
                s.error,
                None if s.frame_dx_m is None else (s.frame_dx_m, s.frame_dy_m or 0.0),
                runs.get(s.id),
            )
            for s in surveys
        ]


def _summary(session: Session, site: Site) -> SiteInfo:
    surveys = session.scalars(select(Survey).where(Survey.site_id == site.id)).all()
    level, _ = current_levels(session, site.id)
    tracks = session.scalar(select(func.count(Track.id)).where(Track.site_id == site.id, Track.status != "merged"))
    unacked = session.scalar(
        select(func.count(Alert.id)).where(
            Alert.site_id == site.id, Alert.requires_ack.is_(True), Alert.acked_at.is_(None)
        )
    )
    return SiteInfo(
        site=site.slug,
        name=site.name,
        config=site.config_path,
        surveys=len(surveys),
        pending=sum(s.status == "pending" for s in surveys),
        flagged=sum(s.status in ("flagged", "failed") for s in surveys),
        last_survey=max((s.acquired_on for s in surveys), default=None),
        tracks=tracks or 0,
        level=level,
        unacknowledged=unacked or 0,
        failed=sum(s.status == "failed" for s in surveys),
        error=site.error,
        overdue_days=_overdue_days(site),
    )


def _overdue_days(site: Site) -> float | None:
    """Days after its latest survey when the site is overdue (None: its YAML cannot be read now)."""
    try:
        return float(
            load_site_config(Path(site.config_path) if site.config_path else None).rules.assessment.overdue_days
        )
    except ConfigError:
        return None
