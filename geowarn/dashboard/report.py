"""``geowarn report SITE --html OUT.html``: one self-contained folium map of a site's latest state.

The file embeds everything it needs (Leaflet inline, the orthomosaic as a reduced PNG read from the
raster's overviews, the cracks as GeoJSON), so it opens offline and travels as an attachment.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geowarn.dashboard.mapdata import LEVEL_COLOURS, crack_features, raster_bounds, survey_by_id
from geowarn.errors import ConfigError
from geowarn.tracking.change import CHANGE_COLOURS, CHANGE_MEANINGS, CHANGES

if TYPE_CHECKING:
    from geowarn.api import Workspace

STATIC = Path(__file__).parent / "static"
#: Longest side of the orthomosaic picture in the report.
REPORT_IMAGE_PX = 2048


def _ortho_png(path: str) -> tuple[str, list[list[float]]]:
    """The orthomosaic reprojected to Web Mercator, at most :data:`REPORT_IMAGE_PX` wide, as a data URL."""
    from rio_tiler.io import Reader

    with Reader(path) as reader:
        bounds = reader.get_geographic_bounds("EPSG:4326")
        image = reader.preview(indexes=(1, 2, 3), max_size=REPORT_IMAGE_PX, dst_crs="EPSG:3857")
    png = image.render(img_format="PNG")
    west, south, east, north = bounds
    return "data:image/png;base64," + base64.b64encode(png).decode(), [[south, west], [north, east]]


def _legend(level: str, site_name: str, day: str) -> str:
    items = "".join(
        f'<li><span style="display:inline-block;width:12px;height:12px;background:{CHANGE_COLOURS[c]}"></span> '
        f"<b>{escape(c)}</b>: {escape(CHANGE_MEANINGS[c])}</li>"
        for c in CHANGES
    )
    colour = LEVEL_COLOURS.get(level, LEVEL_COLOURS["nodata"])
    return (
        '<div style="position:fixed;top:10px;right:10px;z-index:1000;background:#fff;padding:8px;'
        'font:13px sans-serif;max-width:340px;border:1px solid #999">'
        f"<b>{escape(site_name)}</b>, survey {escape(day)}: "
        f'<span style="background:{colour};color:#fff;padding:1px 5px">{escape(level.upper())}</span>'
        f'<ul style="list-style:none;padding:0;margin:6px 0 0">{items}</ul></div>'
    )


def site_report_html(ws: Workspace, site: str) -> str:
    """The report of ``site`` as one HTML document.

    Raises:
        ConfigError: no such site, or no survey yet.

    """
    import folium

    info = ws.site(site)
    survey = survey_by_id(ws, site, None)
    bounds = raster_bounds(survey.path)
    if bounds is None:
        raise ConfigError(f"survey {survey.id} of {site}: its orthomosaic {survey.path!r} cannot be read; restore it")

    fmap = folium.Map(location=list(bounds.centre), tiles=None, zoom_start=18, max_zoom=26, control_scale=True)
    fmap.default_js, fmap.default_css = [], []  # no CDN: Leaflet is inlined below
    root: Any = fmap.get_root()
    root.header.add_child(folium.Element(f"<style>{(STATIC / 'leaflet' / 'leaflet.css').read_text()}</style>"))
    root.header.add_child(folium.Element(f"<script>{(STATIC / 'leaflet' / 'leaflet.js').read_text()}</script>"))
    url, corners = _ortho_png(survey.path)
    folium.raster_layers.ImageOverlay(url, corners, name=f"orthomosaic {survey.date}").add_to(fmap)
    cracks = ws.cracks(site, survey.id) if survey.status in ("processed", "flagged") else None
    if cracks is not None and not cracks.empty:
        features = crack_features(cracks, survey, site)
        folium.GeoJson(
            features,
            name="cracks",
            style_function=lambda f: {"color": f["properties"]["colour"], "weight": 4},
            tooltip=folium.GeoJsonTooltip(
                ["crack_id", "change", "length_m", "extension_rate_mm_day", "extension_rate_unc_mm_day"],
                aliases=["crack", "change", "length (m)", "extension rate (mm/day)", "±"],
            ),
        ).add_to(fmap)
    fmap.fit_bounds([[bounds.south, bounds.west], [bounds.north, bounds.east]])
    folium.LayerControl().add_to(fmap)
    root.html.add_child(folium.Element(_legend(info.level, info.name, survey.date.isoformat())))
    return str(root.render())


def write_site_report(ws: Workspace, site: str, out: Path) -> Path:
    """Write :func:`site_report_html` to ``out`` (its folder must exist)."""
    if not out.parent.is_dir():
        raise ConfigError(f"--html {str(out)!r}: the folder {str(out.parent)!r} does not exist; create it first")
    out.write_text(site_report_html(ws, site), encoding="utf-8")
    return out
