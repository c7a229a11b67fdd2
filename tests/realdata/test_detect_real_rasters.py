"""The pipeline on every real GeoTIFF variant in ../shared/data (toy models: fast)."""

from __future__ import annotations

from pathlib import Path

import pytest
import rasterio

from geowarn.pipeline.detect import detect
from geowarn.pipeline.detect_config import DetectConfig

pytestmark = pytest.mark.realdata

RASTERS = [
    "australia.tif",
    "test_tiled.tif",
    "webodm_orthophoto.tif",
    "Ortho-DroneMapper_center100.tif",
    "OSBS_029.tif",
]


@pytest.mark.parametrize("name", RASTERS)
def test_outputs_align_with_real_rasters(name: str, shared_data: Path, tmp_path: Path, toy_cascade) -> None:
    ortho = shared_data / "geotiff" / name
    result = detect(ortho, tmp_path, DetectConfig(), cascade=toy_cascade, progress=False)
    with rasterio.open(ortho) as src:
        grid = (src.crs, src.transform, src.width, src.height)
        invalid = src.dataset_mask() == 0
    for key in ("crack_prob.tif", "crack_mask.tif"):
        with rasterio.open(result.outputs[key]) as out:
            assert (out.crs, out.transform, out.width, out.height) == grid
    with rasterio.open(result.outputs["crack_mask.tif"]) as out:
        assert ((out.read(1) == 255) == invalid).all()
    assert result.manifest["input"]["raster"]["path"].endswith(name)
