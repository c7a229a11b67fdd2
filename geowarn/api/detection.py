"""``geowarn.detect``: cracks in one orthomosaic, as GeoDataFrames, with the output rasters and provenance."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geowarn.io.outputs import GPKG_NAME, MASK_NAME, PROB_NAME
from geowarn.pipeline.detect import DetectResult
from geowarn.pipeline.detect import detect as run_detect
from geowarn.pipeline.detect_config import DetectConfig, load_detect_config
from geowarn.vectorize.gpkg import CENTERLINE_LAYER, POLYGON_LAYER, UNCONFIRMED_LAYER, WIDE_LAYER

if TYPE_CHECKING:
    import geopandas as gpd

    from geowarn.inference.cascade import Cascade


@dataclass
class Detection(DetectResult):
    """What ``geowarn.detect`` found, and where its outputs are.

    Attributes:
        cracks: one row per crack: its polygon and measurements in metres with their 1-sigma
            uncertainties (``crack_id``, ``length_m``, ``length_unc_m``, ``mean_width_m``,
            ``max_width_m``, ``width_unc_m``, ``area_m2``, ``azimuth_deg``...), in the raster's CRS.
        centerlines: the same cracks as centrelines (same ``crack_id`` and attributes).
        wide: features dropped only for being wider than ``max_crack_width_m`` on average (same
            attributes): shade, gullies, tracks, or an open fissure; not cracks, kept for review.
        unconfirmed: crack-shaped features the verifier scored below its threshold (same
            attributes, ``verify_score`` among them); not cracks, kept for review.
        probability_path: ``crack_prob.tif``, crack probability x 255 (COG on the input grid).
        mask_path: ``crack_mask.tif``, the 0/1 mask of the cracks (COG; 255 where the input has no data).
        features_path: ``cracks.gpkg``, the four layers above.
        summary: the run record (``run.json``): input hash, models and weight hashes, settings,
            versions, timings and counts.
        out_dir: the output folder; temporary when ``detect`` was given no ``out`` (see there).

    """

    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False, compare=False)

    @property
    def probability_path(self) -> Path:
        return self.outputs[PROB_NAME]

    @property
    def mask_path(self) -> Path:
        return self.outputs[MASK_NAME]

    @property
    def features_path(self) -> Path:
        return self.outputs[GPKG_NAME]

    @property
    def summary(self) -> dict[str, Any]:
        return self.manifest

    @cached_property
    def cracks(self) -> gpd.GeoDataFrame:
        import geopandas as gpd

        return gpd.read_file(self.features_path, layer=POLYGON_LAYER)

    @cached_property
    def centerlines(self) -> gpd.GeoDataFrame:
        import geopandas as gpd

        return gpd.read_file(self.features_path, layer=CENTERLINE_LAYER)

    @cached_property
    def wide(self) -> gpd.GeoDataFrame:
        import geopandas as gpd

        return gpd.read_file(self.features_path, layer=WIDE_LAYER)

    @cached_property
    def unconfirmed(self) -> gpd.GeoDataFrame:
        import geopandas as gpd

        return gpd.read_file(self.features_path, layer=UNCONFIRMED_LAYER)

    def cleanup(self) -> None:
        """Delete the temporary output folder now (nothing happens when ``out`` was given)."""
        if self._tmp is not None:
            self._tmp.cleanup()


def detect(
    ortho: str | Path,
    out: str | Path | None = None,
    *,
    config: DetectConfig | str | Path | None = None,
    progress: bool | None = False,
    quiet: bool = False,
    cascade: Cascade | None = None,
    **settings: Any,
) -> Detection:
    """Detect cracks in one orthomosaic (GeoTIFF/COG), as ``geowarn detect`` does.

    Args:
        ortho: the orthomosaic: RGB/RGBA, uint8/uint16, in a projected CRS.
        out: the output folder (created if needed): ``crack_prob.tif``, ``crack_mask.tif``,
            ``cracks.gpkg`` and ``run.json``. None writes them into a temporary folder that is
            deleted with the result (or by ``result.cleanup()``): copy what you want to keep.
        config: detect settings: a YAML file (``config/detect.yaml`` documents every key) or a
            ``DetectConfig``.
        progress: a progress bar on stderr (None: when stderr is a terminal).
        quiet: no progress lines in the log either.
        cascade: models already loaded (``geowarn.pipeline.rows.load_cascade``), to run several
            orthomosaics without loading them again; the model settings are then ignored.
        **settings: detect settings over those of ``config``: ``classifier`` (None: segment every
            tile), ``segmenter``, ``prob_threshold``, ``gate_threshold``, ``verifier`` (None: no second
            look), ``verify_threshold``, ``min_crack_length_m``, ``max_crack_width_m``, ``target_gsd_m``,
            ``tile_core``, ``device``, ``amp``, ``threads``, ``cluster``...
            (``DetectConfig``).

    Returns:
        The cracks as GeoDataFrames in the raster's CRS, the output paths and the run record.

    Raises:
        ConfigError: an unknown or invalid setting (the message names it and the valid keys).
        InvalidRasterError: the orthomosaic cannot be used (nothing is written).
        ModelError: models or weights are missing or corrupt.
        OutputError: ``out`` is not writable.

    Example:
        >>> found = geowarn.detect("survey.tif", "results/", min_crack_length_m=0.2)
        >>> found.cracks[["crack_id", "length_m", "mean_width_m"]].head()

    """
    base = config.model_dump() if isinstance(config, DetectConfig) else None
    path = Path(config) if isinstance(config, str | Path) else None
    detect_config = load_detect_config(path, settings, base, overrides_from="keyword arguments", none_given=True)
    tmp = tempfile.TemporaryDirectory(prefix="geowarn-detect-") if out is None else None
    out_dir = Path(tmp.name) if tmp is not None else Path(str(out))
    try:
        result = run_detect(Path(ortho), out_dir, detect_config, cascade=cascade, progress=progress, quiet=quiet)
    except BaseException:
        if tmp is not None:
            tmp.cleanup()
        raise
    return Detection(**vars(result), _tmp=tmp)
