"""Read a run's ``cracks.gpkg`` into site-frame crack records for the store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyogrio
from shapely import affinity
from shapely.geometry.base import BaseGeometry

from geowarn.errors import InvalidRasterError
from geowarn.store.schema import Crack
from geowarn.tracking.growth import CrackMeasure
from geowarn.vectorize.gpkg import CENTERLINE_LAYER, POLYGON_LAYER


@dataclass(frozen=True)
class DetectedCrack:
    """One crack of a run: raw geometries (survey frame) and measurements."""

    feature_index: int
    polygon: BaseGeometry
    centerline: BaseGeometry
    length_m: float
    length_unc_m: float
    mean_width_m: float
    max_width_m: float
    width_unc_m: float
    area_m2: float
    azimuth_deg: float
    mean_prob: float

    def to_row(self, run_id: int, survey_id: int, dx: float, dy: float) -> Crack:
        """Store row with geometries moved into the site frame by (dx, dy)."""
        polygon = affinity.translate(self.polygon, dx, dy)
        centroid = polygon.centroid
        return Crack(
            run_id=run_id,
            survey_id=survey_id,
            feature_index=self.feature_index,
            polygon_wkb=polygon.wkb,
            centerline_wkb=affinity.translate(self.centerline, dx, dy).wkb,
            length_m=self.length_m,
            length_unc_m=self.length_unc_m,
            mean_width_m=self.mean_width_m,
            max_width_m=self.max_width_m,
            width_unc_m=self.width_unc_m,
            area_m2=self.area_m2,
            azimuth_deg=self.azimuth_deg,
            mean_prob=self.mean_prob,
            centroid_x=centroid.x,
            centroid_y=centroid.y,
        )


def measure_of(crack: Crack) -> CrackMeasure:
    """Growth-relevant measurements of a stored crack."""
    return CrackMeasure(
        crack.length_m, crack.length_unc_m, crack.mean_width_m, crack.max_width_m, crack.width_unc_m, crack.area_m2
    )


def read_detected_cracks(gpkg: Path) -> list[DetectedCrack]:
    """Polygons and centrelines of ``gpkg`` paired by ``crack_id``.

    Raises:
        InvalidRasterError: the file is missing or its layers do not pair up (a damaged run).

    """
    try:
        polygons = pyogrio.read_dataframe(gpkg, layer=POLYGON_LAYER)
        lines = pyogrio.read_dataframe(gpkg, layer=CENTERLINE_LAYER)
    except Exception as exc:
        raise InvalidRasterError(
            f"{gpkg}: cannot read the crack layers ({exc}); delete the run folder to redo it"
        ) from exc
    by_id = {int(row.crack_id): row.geometry for row in lines.itertuples()}
    cracks = []
    for row in polygons.itertuples():
        crack_id = int(row.crack_id)
        if crack_id not in by_id:
            raise InvalidRasterError(f"{gpkg}: crack {crack_id} has a polygon but no centreline; redo the run")
        cracks.append(
            DetectedCrack(
                crack_id,
                row.geometry,
                by_id[crack_id],
                float(row.length_m),
                float(row.length_unc_m),
                float(row.mean_width_m),
                float(row.max_width_m),
                float(row.width_unc_m),
                float(row.area_m2),
                float(row.azimuth_deg),
                float(row.mean_prob),
            )
        )
    return cracks
