"""The crack layers in a GeoPackage: ``crack_polygons``, ``crack_centerlines`` and ``wide_features``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from geowarn.errors import OutputError
from geowarn.vectorize.features import to_multipolygon

__all__ = ["CENTERLINE_LAYER", "POLYGON_LAYER", "UNCONFIRMED_LAYER", "WIDE_LAYER", "write_cracks_gpkg"]

POLYGON_LAYER = "crack_polygons"
CENTERLINE_LAYER = "crack_centerlines"
#: Features dropped only for being wider than ``max_crack_width_m``, kept for review (not cracks).
WIDE_LAYER = "wide_features"
#: Crack-shaped features the verifier did not confirm, kept for review (not cracks).
UNCONFIRMED_LAYER = "unconfirmed_features"


def _as_multi(geom: BaseGeometry, kind: str) -> BaseGeometry:
    """Valid geometry of the Multi type ``kind`` made of the matching parts of ``geom``."""
    if kind == "MultiPolygon":
        return to_multipolygon(geom)
    geom = geom if geom.is_valid else shapely.make_valid(geom)
    return MultiLineString([p for p in getattr(geom, "geoms", [geom]) if isinstance(p, LineString)])


def _promote(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """Geometries of one Multi type.

    Geometries already of that type are kept as they are (``vectorize_cracks`` makes its
    outlines valid; checking the validity of large outlines again costs more than writing
    them); others are made valid and converted. Missing and empty geometries are kept.
    """
    target = shapely.GeometryType.MULTIPOLYGON if kind == "MultiPolygon" else shapely.GeometryType.MULTILINESTRING
    geoms = gdf.geometry.to_numpy()
    convert = np.flatnonzero((shapely.get_type_id(geoms) != target) & ~shapely.is_missing(geoms))
    convert = convert[~shapely.is_empty(geoms[convert])]
    if convert.size == 0:
        return gdf
    geoms = geoms.copy()
    for i in convert.tolist():
        geoms[i] = _as_multi(geoms[i], kind)
    out = gdf.copy()
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=out.crs)
    return out


@contextmanager
def _gdal_config(**options: str) -> Iterator[None]:
    """GDAL configuration options for pyogrio, restored afterwards."""
    previous = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(previous)


def write_cracks_gpkg(
    path: Path,
    polygons: gpd.GeoDataFrame,
    centerlines: gpd.GeoDataFrame,
    wide: gpd.GeoDataFrame | None = None,
    unconfirmed: gpd.GeoDataFrame | None = None,
) -> None:
    """Write the crack layers ``crack_polygons`` and ``crack_centerlines`` to a GeoPackage.

    ``wide`` and ``unconfirmed`` (features kept for review) become the layers ``wide_features``
    and ``unconfirmed_features`` when given.

    Existing layers of the same names are replaced; other layers are kept. Empty frames
    still create their layers with the full schema. SQLite does not wait for the disk
    after each transaction (``OGR_SQLITE_SYNCHRONOUS=OFF``): the file is written whole,
    and ``geowarn detect`` moves it into place only once the run has succeeded.

    Raises:
        OutputError: If the file cannot be written.

    """
    path = Path(path)
    layers = [(POLYGON_LAYER, polygons, "MultiPolygon"), (CENTERLINE_LAYER, centerlines, "MultiLineString")]
    for layer, review in ((WIDE_LAYER, wide), (UNCONFIRMED_LAYER, unconfirmed)):
        if review is not None:
            layers.append((layer, review, "MultiPolygon"))
    try:
        with _gdal_config(OGR_SQLITE_SYNCHRONOUS="OFF"):  # no wait for the disk after each transaction
            for layer, gdf, kind in layers:
                _promote(gdf, kind).to_file(
                    path, layer=layer, driver="GPKG", engine="pyogrio", geometry_type=kind, promote_to_multi=True
                )
    except (OSError, DataSourceError, DataLayerError, FieldError, GeometryError) as exc:
        raise OutputError(f"cannot write crack layers to {path}: {exc}; check the folder is writable") from exc
