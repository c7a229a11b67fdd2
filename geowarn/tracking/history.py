"""Tracked cracks read back from the store as GeoDataFrames: a survey's cracks, one crack's history.

Geometries are in the site frame (each survey moved onto the site's first processed survey by its
co-registration) and carry the site's CRS; lengths, widths and their 1-sigma uncertainties are in
metres, areas in m².
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
from pyproj import CRS
from shapely import wkb
from sqlalchemy import select
from sqlalchemy.orm import Session

from geowarn.errors import ConfigError
from geowarn.store.schema import Crack, Growth, Site, Survey, Track
from geowarn.tracking.change import classify_metrics

#: Measurement columns of every crack row, as stored.
MEASURES = (
    "length_m",
    "length_unc_m",
    "mean_width_m",
    "max_width_m",
    "width_unc_m",
    "area_m2",
    "azimuth_deg",
    "mean_prob",
)


def _crs(site: Site) -> CRS | None:
    return CRS.from_wkt(site.crs) if site.crs else None


def _row(crack: Crack, survey: Survey) -> dict[str, Any]:
    return {
        "crack_id": crack.track_id,
        "survey_id": survey.id,
        "date": survey.acquired_on,
        **{name: getattr(crack, name) for name in MEASURES},
        "centerline": wkb.loads(crack.centerline_wkb),
        "geometry": wkb.loads(crack.polygon_wkb),
    }


def _frame(rows: list[dict[str, Any]], site: Site) -> gpd.GeoDataFrame:
    columns = ["crack_id", "survey_id", "date", *MEASURES, "centerline", "geometry"]
    frame = gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=_crs(site))
    frame["centerline"] = gpd.GeoSeries(frame["centerline"], crs=frame.crs)
    return frame


#: Growth columns of :func:`survey_cracks`: the change since the crack's previous survey.
GROWTH_COLUMNS = (
    "change",
    "extension_m",
    "extension_unc_m",
    "extension_rate_mm_day",
    "extension_rate_unc_mm_day",
    "opening_rate_mm_day",
    "opening_rate_unc_mm_day",
    "first_seen",
    "last_seen",
)


def _growth_columns(session: Session, survey: Survey, rows: list[dict[str, Any]]) -> None:
    """Add :data:`GROWTH_COLUMNS` to each row of the survey's cracks."""
    growth = {g.track_id: g.metrics for g in session.scalars(select(Growth).where(Growth.survey_id == survey.id))}
    dates = dict(session.execute(select(Survey.id, Survey.acquired_on).where(Survey.site_id == survey.site_id)).all())
    ids = {row["crack_id"] for row in rows}
    spans = {
        t.id: (dates.get(t.first_survey_id), dates.get(t.last_survey_id))
        for t in session.scalars(select(Track).where(Track.site_id == survey.site_id))
        if t.id in ids
    }
    for row in rows:
        metrics = growth.get(row["crack_id"])
        extension = (metrics or {}).get("extension") or {}
        opening = (metrics or {}).get("mean_width") or {}
        first, last = spans.get(row["crack_id"], (None, None))
        row.update(
            change=classify_metrics(metrics),
            extension_m=extension.get("delta_m"),
            extension_unc_m=extension.get("unc_m"),
            extension_rate_mm_day=extension.get("rate_mm_day"),
            extension_rate_unc_mm_day=extension.get("rate_unc_mm_day"),
            opening_rate_mm_day=opening.get("rate_mm_day"),
            opening_rate_unc_mm_day=opening.get("rate_unc_mm_day"),
            first_seen=first,
            last_seen=last,
        )


def survey_cracks(session: Session, site: Site, survey_id: int | None = None) -> gpd.GeoDataFrame:
    """The cracks of one processed survey (default: the site's latest), one row each.

    Columns: ``crack_id`` (the stable track id), ``survey_id``, ``date``, the measurements,
    ``centerline`` and the polygon as ``geometry``; then the change since the crack's previous
    survey: ``change`` (extending, opening, new, shrinking or partly lost, stable), the extension
    and its rate, the opening rate (mean width), each with its 1-sigma uncertainty (None for a new
    crack), and ``first_seen`` / ``last_seen``, the dates of the first and latest surveys that saw it.

    Raises:
        ConfigError: ``survey_id`` is not a processed survey of the site.

    """
    query = select(Survey).where(Survey.site_id == site.id, Survey.status == "processed")
    if survey_id is not None:
        query = query.where(Survey.id == survey_id)
    survey = session.scalar(query.order_by(Survey.acquired_on.desc()).limit(1))
    if survey is None and survey_id is not None:
        raise ConfigError(f"survey {survey_id} is not a processed survey of site {site.slug}; see: geowarn site show")
    cracks = [] if survey is None else session.scalars(select(Crack).where(Crack.survey_id == survey.id)).all()
    rows = [_row(c, survey) for c in sorted(cracks, key=lambda c: (c.track_id or 0, c.id)) if survey is not None]
    if survey is not None:
        _growth_columns(session, survey, rows)
    frame = _frame(rows, site)
    for name in GROWTH_COLUMNS:
        frame[name] = [row[name] for row in rows]
    return frame


def crack_history(session: Session, site: Site, crack_id: int) -> gpd.GeoDataFrame:
    """One crack (track ``crack_id``) in every survey that saw it, oldest first, with its growth since the last.

    Besides the columns of :func:`survey_cracks` up to ``geometry``: ``extension_m`` and
    ``extension_rate_mm_day`` (the growth that alerts), their uncertainties and
    ``extension_significant``, ``change`` (the class of the change), and ``time_of_failure``
    (the inverse-velocity estimate made at that survey, a dict with ``when``, ``low``, ``high``,
    or None); empty (None) for the survey that first saw it.

    Raises:
        ConfigError: the site has no crack ``crack_id``.

    """
    pairs = session.execute(
        select(Crack, Survey)
        .join(Survey, Crack.survey_id == Survey.id)
        .where(Survey.site_id == site.id, Crack.track_id == crack_id)
        .order_by(Survey.acquired_on, Crack.id)
    ).all()
    if not pairs:
        raise ConfigError(f"site {site.slug} has no crack {crack_id}; list them with Workspace.cracks({site.slug!r})")
    growth = {g.survey_id: g for g in session.scalars(select(Growth).where(Growth.track_id == crack_id))}
    rows = []
    for crack, survey in pairs:
        row = _row(crack, survey)
        g = growth.get(survey.id)
        extension = g.metrics["extension"] if g is not None else {}
        row.update(
            extension_m=extension.get("delta_m"),
            extension_unc_m=extension.get("unc_m"),
            extension_rate_mm_day=extension.get("rate_mm_day"),
            extension_rate_unc_mm_day=extension.get("rate_unc_mm_day"),
            extension_significant=extension.get("significant"),
            change=classify_metrics(g.metrics if g is not None else None),
            time_of_failure=g.metrics.get("time_of_failure") if g is not None else None,
        )
        rows.append(row)
    frame = _frame(rows, site)
    growth_columns = ("extension_m", "extension_unc_m", "extension_rate_mm_day", "extension_rate_unc_mm_day")
    for name in (*growth_columns, "extension_significant", "change", "time_of_failure"):
        frame[name] = [row[name] for row in rows]
    return frame
