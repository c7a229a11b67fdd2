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
from geowarn.store.schema import Crack, Growth, Site, Survey

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


def survey_cracks(session: Session, site: Site, survey_id: int | None = None) -> gpd.GeoDataFrame:
    """The cracks of one processed survey (default: the site's latest), one row each.

    Columns: ``crack_id`` (the stable track id), ``survey_id``, ``date``, the measurements,
    ``centerline`` and the polygon as ``geometry``.

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
    return _frame(rows, site)


def crack_history(session: Session, site: Site, crack_id: int) -> gpd.GeoDataFrame:
    """One crack (track ``crack_id``) in every survey that saw it, oldest first, with its growth since the last.

    Besides the columns of :func:`survey_cracks`: ``extension_m`` and ``extension_rate_mm_day``
    (the growth that alerts), their uncertainties and ``extension_significant``; empty (None) for
    the survey that first saw it.

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
        )
        rows.append(row)
    frame = _frame(rows, site)
    growth_columns = ("extension_m", "extension_unc_m", "extension_rate_mm_day", "extension_rate_unc_mm_day")
    for name in (*growth_columns, "extension_significant"):
        frame[name] = [row[name] for row in rows]
    return frame
