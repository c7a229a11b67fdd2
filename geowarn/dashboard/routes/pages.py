"""The HTML pages: sites overview, site map, crack history, alerts and acknowledgement."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from geowarn.dashboard.mapdata import raster_bounds, survey_by_id
from geowarn.dashboard.plots import inverse_velocity_chart, size_chart
from geowarn.dashboard.security import Context, NotFoundError, context
from geowarn.errors import ConfigError
from geowarn.tracking.change import CHANGES

router = APIRouter()
Ctx = Annotated[Context, Depends(context)]
#: Cracks listed under a site's map (the rest are on the map): the most alarming first.
LISTED_CRACKS = 50
ALERT_LEVELS = ("red", "orange", "yellow", "green", "nodata")


def _render(request: Request, ctx: Context, name: str, **values: Any) -> Response:
    page: Response = request.app.state.templates.TemplateResponse(
        request, name, {"user": ctx.signed.user, "csrf_token": ctx.signed.csrf_token, **values}
    )
    return page


def _optional_id(text: str | None) -> int | None:
    """A survey id from a form field (empty: none); ``NotFoundError`` for anything but digits."""
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise NotFoundError()
    return int(text)


@router.get("/")
def overview(request: Request, ctx: Ctx) -> Response:
    """Every site the user may see: level, last survey, overdue flag, open alerts, on a map."""
    sites = [ctx.ws.site(slug) for slug in ctx.visible_sites()]
    return _render(request, ctx, "sites.html", sites=sites)


@router.get("/sites/{site}")
def site_page(
    request: Request, ctx: Ctx, site: str, survey: str | None = None, compare: str | None = None, prob: bool = False
) -> Response:
    """A site's map: orthomosaic tiles of the chosen survey, its cracks, a change view, the probability overlay."""
    slug = ctx.site(site)
    survey_id, compare_id = _optional_id(survey), _optional_id(compare)
    info = ctx.ws.site(slug)
    surveys = ctx.ws.surveys(slug)
    chosen = previous = None
    if surveys:
        try:
            chosen = survey_by_id(ctx.ws, slug, survey_id)
            previous = survey_by_id(ctx.ws, slug, compare_id) if compare_id is not None else None
        except ConfigError:
            raise NotFoundError() from None
    cracks = ctx.cracks(slug, chosen.id) if chosen and chosen.status in ("processed", "flagged") else None
    listed: list[dict[str, Any]] = []
    if cracks is not None and not cracks.empty:
        order = {name: i for i, name in enumerate(CHANGES)}
        frame = cracks.drop(columns=["geometry", "centerline"]).assign(_o=cracks["change"].map(order))
        frame = frame.sort_values(["_o", "length_m"], ascending=[True, False]).head(LISTED_CRACKS)
        listed = frame.to_dict("records")
    bounds = raster_bounds(chosen.path) if chosen else None
    counts = cracks["change"].value_counts().to_dict() if cracks is not None and not cracks.empty else {}
    map_config = {
        "cracks": f"/api/sites/{slug}/cracks.geojson?survey={chosen.id}" if chosen else None,
        "compare": (
            f"/api/sites/{slug}/cracks.geojson?survey={previous.id}&shown_on={chosen.id}"
            if previous and chosen
            else None
        ),
        "review": f"/api/sites/{slug}/review.geojson?survey={chosen.id}" if chosen else None,
        "ortho": f"/tiles/{slug}/{chosen.id}/ortho/{{z}}/{{x}}/{{y}}.png" if chosen else None,
        "probability": f"/tiles/{slug}/{chosen.id}/probability/{{z}}/{{x}}/{{y}}.png" if chosen else None,
        "show_probability": prob,
        "bounds": [[bounds.south, bounds.west], [bounds.north, bounds.east]] if bounds else None,
    }
    return _render(
        request,
        ctx,
        "site.html",
        site=info,
        surveys=surveys,
        chosen=chosen,
        previous=previous,
        cracks=listed,
        n_cracks=0 if cracks is None else len(cracks),
        counts=counts,
        alerts=ctx.ws.alerts(slug),
        map_config=json.dumps(map_config),
        show_probability=prob,
    )


@router.get("/sites/{site}/cracks/{crack_id}")
def crack_page(request: Request, ctx: Ctx, site: str, crack_id: int) -> Response:
    """One crack: its measurements in every survey, size and inverse-velocity charts, its alerts' evidence."""
    slug = ctx.site(site)
    try:
        history = ctx.ws.crack_history(slug, crack_id)
    except ConfigError:
        raise NotFoundError() from None
    alerts = []
    for info in ctx.ws.alerts(slug):
        detail = ctx.ws.alert(info.id)
        if any(c.get("track_id") == crack_id for c in detail.payload.get("cracks", [])):
            alerts.append(detail)
    rows = history.drop(columns=["geometry", "centerline"]).to_dict("records")
    return _render(
        request,
        ctx,
        "crack.html",
        site=ctx.ws.site(slug),
        crack_id=crack_id,
        rows=rows,
        size_svg=size_chart(history),
        velocity_svg=inverse_velocity_chart(history),
        alerts=alerts,
    )


@router.get("/alerts")
def alerts_page(
    request: Request, ctx: Ctx, site: str | None = None, level: str | None = None, open_only: bool = False
) -> Response:
    """Alerts of the sites this user may see, newest first, filtered by site, level and acknowledgement."""
    visible = set(ctx.visible_sites())
    chosen = site if site in visible else None
    rows = [
        a
        for a in ctx.ws.alerts(chosen, unacked=open_only)
        if a.site in visible and (level not in ALERT_LEVELS or a.level == level)
    ]
    return _render(
        request,
        ctx,
        "alerts.html",
        alerts=rows,
        sites=sorted(visible),
        levels=ALERT_LEVELS,
        filters={"site": chosen, "level": level if level in ALERT_LEVELS else None, "open_only": open_only},
    )


@router.get("/sites/{site}/alerts/{alert_id}")
def alert_page(request: Request, ctx: Ctx, site: str, alert_id: int, acked: bool = False) -> Response:
    """One alert: level, reasons, cracks, evidence map, acknowledgement and downloads (the ``dashboard_url``)."""
    slug = ctx.site(site)
    try:
        detail = ctx.ws.alert(alert_id)
    except ConfigError:
        raise NotFoundError() from None
    if detail.info.site != slug:
        raise NotFoundError()
    survey = detail.payload.get("survey_id")
    surveys = {s.id: s for s in ctx.ws.surveys(slug)}
    return _render(
        request,
        ctx,
        "alert.html",
        site=ctx.ws.site(slug),
        alert=detail,
        survey=surveys.get(survey) if isinstance(survey, int) else None,
        just_acked=acked,
    )


@router.post("/sites/{site}/alerts/{alert_id}/ack")
def acknowledge(
    ctx: Ctx,
    site: str,
    alert_id: int,
    csrf_token: Annotated[str, Form(max_length=200)],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Acknowledge the alert as the signed-in geologist, with a comment (as ``geowarn alerts ack``)."""
    ctx.check_form(csrf_token)
    slug = ctx.site(site)
    ctx.require_acknowledge()
    try:
        detail = ctx.ws.alert(alert_id)
    except ConfigError:
        raise NotFoundError() from None
    if detail.info.site != slug:
        raise NotFoundError()
    ctx.ws.acknowledge(alert_id, ctx.username, note.strip() or None)
    return RedirectResponse(f"/sites/{slug}/alerts/{alert_id}?acked=true", status_code=303)
