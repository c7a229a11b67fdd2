"""Map data of the dashboard: site markers and crack layers as GeoJSON in WGS 84.

Cracks are stored in the site frame (the first survey's); a survey's orthomosaic lies in its own
coordinates, ``frame_offset_m`` away. Cracks drawn over a survey's basemap are moved back by that
survey's offset, so they sit on the imagery they were found on (and earlier surveys' cracks sit
where they were, seen from the current survey, in a change view). The features a survey's detection
kept for review (too wide for a crack, or not confirmed by the verifier) are read from its own
``cracks.gpkg``, in its own coordinates: they are drawn on that survey's imagery only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
from rasterio.warp import transform_bounds

from geowarn.errors import ConfigError
from geowarn.io.outputs import GPKG_NAME
from geowarn.tracking.change import CHANGE_COLOURS, STABLE

if TYPE_CHECKING:
    import geopandas as gpd

    from geowarn.api import Workspace
    from geowarn.workspace.sites import SurveyInfo

#: Level colours of the maps and badges.
LEVEL_COLOURS = {
    "green": "#2e7d32",
    "yellow": "#f9a825",
    "orange": "#ef6c00",
    "red": "#c62828",
    "nodata": "#616161",
}
#: Crack properties sent to the map (besides its id, change class and colour).
CRACK_PROPERTIES = (
    "length_m",
    "length_unc_m",
    "mean_width_m",
    "max_width_m",
    "width_unc_m",
    "extension_m",
    "extension_unc_m",
    "extension_rate_mm_day",
    "extension_rate_unc_mm_day",
    "opening_rate_mm_day",
    "opening_rate_unc_mm_day",
    "first_seen",
    "last_seen",
)

#: Review features of a survey's ``cracks.gpkg``, by kind: why each is not a crack, and its colour.
REVIEW_KINDS = {
    "wide": ("wider than a crack: shade, gully, track, or an open fissure", "#6a1b9a"),
    "unconfirmed": ("crack-shaped, not confirmed by the verifier", "#00838f"),
}
#: The longest review features sent to the map; the rest are in the GeoPackage.
MAX_REVIEW_FEATURES = 2000


@dataclass(frozen=True)
class Bounds:
    """West, south, east, north in degrees (WGS 84)."""

    west: float
    south: float
    east: float
    north: float

    @property
    def centre(self) -> tuple[float, float]:
        """Latitude and longitude of the centre."""
        return (self.south + self.north) / 2, (self.west + self.east) / 2


def raster_bounds(path: str) -> Bounds | None:
    """The WGS 84 bounds of a raster (read from its header), None when it cannot be read."""
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                return None
            return Bounds(*transform_bounds(src.crs, "EPSG:4326", *src.bounds))
    except rasterio.errors.RasterioError:
        return None


def survey_by_id(ws: Workspace, site: str, survey_id: int | None) -> SurveyInfo:
    """Survey ``survey_id`` of ``site`` (default: its latest processed one, else its latest).

    Raises:
        ConfigError: the site has no such survey, or none at all.

    """
    surveys = ws.surveys(site)
    if survey_id is None:
        processed = [s for s in surveys if s.status in ("processed", "flagged")]
        if processed or surveys:
            return (processed or surveys)[-1]
        raise ConfigError(f"site {site!r} has no survey yet; add one with: geowarn survey add {site} FILE --date DAY")
    for survey in surveys:
        if survey.id == survey_id:
            return survey
    raise ConfigError(f"survey {survey_id}: not a survey of site {site!r}; pick one from the site page")


def _value(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float | int) and not isinstance(value, bool):
        number = float(value)
        return None if math.isnan(number) else round(number, 6)
    return value


def crack_features(cracks: gpd.GeoDataFrame, shown_on: SurveyInfo, site: str) -> dict[str, Any]:
    """Cracks as a GeoJSON FeatureCollection of centrelines in WGS 84, moved onto ``shown_on``'s imagery."""
    if cracks.empty or cracks.crs is None:
        return {"type": "FeatureCollection", "features": []}
    dx, dy = shown_on.frame_offset_m or (0.0, 0.0)
    import geopandas as gpd
    import shapely

    moved = shapely.transform(
        shapely.simplify(np.asarray(cracks["centerline"].values), 0.005), lambda xy: xy - (dx, dy)
    )
    lines = gpd.GeoSeries(moved, crs=cracks.crs).to_crs("EPSG:4326")
    geometries = [shapely.geometry.mapping(line) for line in lines.values]
    columns = [name for name in ("crack_id", "change", *CRACK_PROPERTIES) if name in cracks.columns]
    features = []
    for row, geometry in zip(cracks[columns].to_dict("records"), geometries, strict=True):
        crack_id, change = int(row.pop("crack_id")), row.pop("change", None) or STABLE
        properties = {name: _value(value) for name, value in row.items()}
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "crack_id": crack_id,
                    "change": change,
                    "colour": CHANGE_COLOURS.get(change, CHANGE_COLOURS[STABLE]),
                    "url": f"/sites/{site}/cracks/{crack_id}",
                    **properties,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def review_features(outputs: str | None) -> dict[str, Any]:
    """The features a survey's detection kept for review, as GeoJSON polygons in WGS 84 (longest first).

    ``outputs`` is the survey's detection folder; a folder without ``cracks.gpkg``, or a GeoPackage
    written before a layer existed, gives no feature of it.
    """
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import shapely

    from geowarn.vectorize.gpkg import UNCONFIRMED_LAYER, WIDE_LAYER

    path = Path(outputs) / GPKG_NAME if outputs else None
    if path is None or not path.is_file():
        return {"type": "FeatureCollection", "features": []}
    present = set(pyogrio.list_layers(path)[:, 0])
    frames = []
    for layer, kind in ((WIDE_LAYER, "wide"), (UNCONFIRMED_LAYER, "unconfirmed")):
        reason, colour = REVIEW_KINDS[kind]
        if layer in present:
            found = gpd.read_file(path, layer=layer)
            if not found.empty and found.crs is not None:
                frames.append(found.to_crs("EPSG:4326").assign(review=reason, colour=colour))
    if not frames:
        return {"type": "FeatureCollection", "features": []}
    review = pd.concat(frames, ignore_index=True).sort_values("length_m", ascending=False).head(MAX_REVIEW_FEATURES)
    outlines = shapely.simplify(np.asarray(review.geometry.values), 1e-7)  # about 1 cm
    columns = ["review", "colour", "length_m", "mean_width_m", "verify_score"]
    features = [
        {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(outline),
            "properties": {name: _value(value) for name, value in row.items()},
        }
        for row, outline in zip(review[columns].to_dict("records"), outlines, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def site_features(ws: Workspace, sites: list[str]) -> dict[str, Any]:
    """Sites as GeoJSON points (the centre of their latest survey) with level, dates and open alerts."""
    features = []
    for slug in sites:
        info = ws.site(slug)
        surveys = ws.surveys(slug)
        bounds = raster_bounds(surveys[-1].path) if surveys else None
        if bounds is None:
            continue
        lat, lon = bounds.centre
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "site": slug,
                    "name": info.name,
                    "level": info.level,
                    "colour": LEVEL_COLOURS.get(info.level, LEVEL_COLOURS["nodata"]),
                    "last_survey": _value(info.last_survey),
                    "overdue": info.is_overdue(),
                    "open_alerts": info.unacknowledged,
                    "url": f"/sites/{slug}",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
