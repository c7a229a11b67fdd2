"""Adding and listing sites and surveys; re-adding the same file is a no-op, never a second survey."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geowarn.assess.record import current_levels
from geowarn.errors import ConfigError
from geowarn.io.raster import open_orthomosaic
from geowarn.provenance import sha256_file
from geowarn.store.queries import get_site
from geowarn.store.schema import Alert, Site, Survey, Track
from geowarn.workspace import SLUG_PATTERN, WorkspaceDir
from geowarn.workspace.site_config import load_site_config


def add_site(ws: WorkspaceDir, slug: str, name: str | None = None, config: Path | None = None) -> SiteInfo:
    """Create a site; its YAML config (if any) is validated now and re-read at every monitor run.

    Raises:
        ConfigError: bad slug, existing site, or invalid config.

    """
    if not SLUG_PATTERN.match(slug):
        raise ConfigError(
            f"site id {slug!r} is not a slug; use lower-case letters, digits, '-' or '_' (e.g. north-slope)"
        )
    if config is not None:
        load_site_config(config)
        config = config.resolve()
    with ws.store.transaction() as session:
        if session.scalar(select(Site).where(Site.slug == slug)) is not None:
            raise ConfigError(f"site {slug!r} exists already; see it with: geowarn site show {slug}")
        site = Site(slug=slug, name=name or slug, config_path=str(config) if config else None)
        session.add(site)
        session.flush()
        return _summary(session, site)


@dataclass(frozen=True)
class SurveyAdded:
    """Outcome of ``survey add``: the survey and whether it was new."""

    survey_id: int
    created: bool
    message: str


def add_survey(ws: WorkspaceDir, slug: str, ortho: Path, acquired_on: date) -> SurveyAdded:
    """Register an orthomosaic as a pending survey of the site.

    The file is validated and hashed; the same file (sha256) for the same site is a no-op.

    Raises:
        InvalidRasterError: the file is not a usable orthomosaic (nothing is stored).
        ConfigError: unknown site, CRS different from the site's, or a date not after the latest survey.

    """
    path = ortho.resolve()
    info = open_orthomosaic(path)
    digest = sha256_file(path)
    with ws.store.transaction() as session:
        site = get_site(session, slug)
        existing = session.scalar(select(Survey).where(Survey.site_id == site.id, Survey.sha256 == digest))
        if existing is not None:
            return SurveyAdded(
                existing.id,
                False,
                f"{path} is already survey {existing.id} of {slug} ({existing.acquired_on}, {existing.status}); "
                "nothing added",
            )
        if site.crs is not None and site.crs != info.crs_wkt:
            raise ConfigError(
                f"{path}: CRS {info.crs_name} differs from site {slug}'s CRS; "
                f"warp it first: gdalwarp -t_srs <the site's CRS> {path} out.tif"
            )
        latest = session.scalar(
            select(func.max(Survey.acquired_on)).where(Survey.site_id == site.id, Survey.status != "failed")
        )
        if latest is not None and acquired_on <= latest:
            raise ConfigError(
                f"{path}: survey date {acquired_on} is not after the site's latest survey ({latest}); "
                "surveys are tracked in date order, so pass the right --date or start a new site"
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
        return SurveyAdded(survey.id, True, f"added survey {survey.id} of {slug} ({acquired_on}, pending)")


@dataclass(frozen=True)
class SiteInfo:
    """A site at a glance: its surveys, tracked cracks, level and open acknowledgements."""

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


@dataclass(frozen=True)
class SurveyInfo:
    """One survey of a site: its status and co-registration (``None`` for the reference survey)."""

    id: int
    date: date
    status: str
    path: str
    registration: dict[str, Any] | None
    error: str | None


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
        return [
            SurveyInfo(
                s.id,
                s.acquired_on,
                s.status,
                s.path,
                None
                if s.reg_ok is None
                else {"ok": s.reg_ok, "dx_m": s.reg_dx_m, "dy_m": s.reg_dy_m, "residual_m": s.reg_residual_m},
                s.error,
            )
            for s in session.scalars(select(Survey).where(Survey.site_id == site.id).order_by(Survey.acquired_on))
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
    )
