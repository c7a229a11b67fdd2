"""Data for the maps and downloads: GeoJSON, orthomosaic and probability tiles, CAP, evidence, GeoPackage.

Every route needs a session and checks the user's rights to the site; files are found by database
ids, never by a path taken from the request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from geowarn.alerts.cap import build_cap
from geowarn.alerts.payload import AlertPayload
from geowarn.dashboard.mapdata import crack_features, review_features, site_features, survey_by_id
from geowarn.dashboard.security import Context, NotFoundError, context
from geowarn.dashboard.tiles import empty_tile, render_tile
from geowarn.errors import ConfigError

router = APIRouter()
Ctx = Annotated[Context, Depends(context)]
#: Tiles change only when a survey is replaced (a new id): the browser may keep them a while.
TILE_CACHE = "private, max-age=600"


@router.get("/api/sites.geojson")
def sites_geojson(ctx: Ctx) -> JSONResponse:
    """The sites this user may see, as points with level, last survey, overdue flag and open alerts."""
    return JSONResponse(site_features(ctx.ws, ctx.visible_sites()))


@router.get("/api/sites/{site}/cracks.geojson")
def cracks_geojson(ctx: Ctx, site: str, survey: int | None = None, shown_on: int | None = None) -> JSONResponse:
    """Cracks of ``survey`` (default: the latest) drawn over survey ``shown_on``'s imagery (default: the same)."""
    slug = ctx.site(site)
    try:
        chosen = survey_by_id(ctx.ws, slug, survey)
        basemap = survey_by_id(ctx.ws, slug, shown_on) if shown_on is not None else chosen
        cracks = ctx.cracks(slug, chosen.id) if chosen.status in ("processed", "flagged") else None
    except ConfigError:
        raise NotFoundError() from None
    if cracks is None:
        return JSONResponse({"type": "FeatureCollection", "features": []})
    return JSONResponse(crack_features(cracks, basemap, slug))


@router.get("/api/sites/{site}/review.geojson")
def review_geojson(ctx: Ctx, site: str, survey: int | None = None) -> JSONResponse:
    """What ``survey``'s detection kept for review (too wide, not confirmed by the verifier), on its own imagery."""
    slug = ctx.site(site)
    try:
        chosen = survey_by_id(ctx.ws, slug, survey)
    except ConfigError:
        raise NotFoundError() from None
    return JSONResponse(review_features(chosen.outputs))


def _survey_raster(ctx: Context, site: str, survey: int, kind: str) -> str | None:
    slug = ctx.site(site)
    try:
        info = survey_by_id(ctx.ws, slug, survey)
    except ConfigError:
        raise NotFoundError() from None
    if kind == "ortho":
        return info.path if Path(info.path).is_file() else None
    if kind == "probability":
        path = Path(info.outputs) / "crack_prob.tif" if info.outputs else None
        return str(path) if path is not None and path.is_file() else None
    raise NotFoundError()


@router.get("/tiles/{site}/{survey}/{kind}/{z}/{x}/{y}.png")
async def tile(ctx: Ctx, site: str, survey: int, kind: str, z: int, x: int, y: int) -> Response:
    """One 256 px map tile of a survey's orthomosaic (``ortho``) or crack probability (``probability``)."""
    path = await run_in_threadpool(_survey_raster, ctx, site, survey, kind)
    headers = {"Cache-Control": TILE_CACHE}
    if path is None:
        return Response(empty_tile(), media_type="image/png", headers=headers)
    body = await run_in_threadpool(render_tile, path, x, y, z, probability=kind == "probability")
    return Response(body, media_type="image/png", headers=headers)


def _alert(ctx: Context, site: str, alert_id: int) -> Any:
    slug = ctx.site(site)
    try:
        detail = ctx.ws.alert(alert_id)
    except ConfigError:
        raise NotFoundError() from None
    if detail.info.site != slug:
        raise NotFoundError()
    return detail


@router.get("/sites/{site}/alerts/{alert_id}/cap.xml")
def alert_cap(ctx: Ctx, site: str, alert_id: int) -> Response:
    """The alert as CAP 1.2 XML (with its evidence map embedded)."""
    detail = _alert(ctx, site, alert_id)
    evidence = Path(detail.evidence_path) if detail.evidence_path else None
    png = evidence.read_bytes() if evidence is not None and evidence.is_file() else None
    xml = build_cap(AlertPayload.model_validate(detail.payload), "geowarn-dashboard", map_png=png)
    name = f"geowarn-{detail.info.site}-alert-{alert_id}.xml"
    return Response(
        xml, media_type="application/xml", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/sites/{site}/alerts/{alert_id}/evidence.png")
def alert_evidence(ctx: Ctx, site: str, alert_id: int) -> Response:
    """The alert's evidence map (previous and current outlines over the orthomosaic)."""
    detail = _alert(ctx, site, alert_id)
    evidence = Path(detail.evidence_path) if detail.evidence_path else None
    if evidence is None or not evidence.is_file():
        raise NotFoundError()
    return FileResponse(evidence, media_type="image/png")


@router.get("/sites/{site}/surveys/{survey}/cracks.gpkg")
def survey_gpkg(ctx: Ctx, site: str, survey: int) -> Response:
    """The survey's detection GeoPackage (``crack_polygons``, ``crack_centerlines``)."""
    slug = ctx.site(site)
    try:
        info = survey_by_id(ctx.ws, slug, survey)
    except ConfigError:
        raise NotFoundError() from None
    path = Path(info.outputs) / "cracks.gpkg" if info.outputs else None
    if path is None or not path.is_file():
        raise NotFoundError()
    name = f"geowarn-{slug}-survey-{info.id}-{info.date.isoformat()}-cracks.gpkg"
    return FileResponse(path, media_type="application/geopackage+sqlite3", filename=name)
