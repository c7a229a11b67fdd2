"""``geowarn.detect``: the result as GeoDataFrames, the temporary output folder, settings checked by name."""

from __future__ import annotations

import pydoc
from pathlib import Path

import pytest
import rasterio

import geowarn
from tests.pipeline.test_detect import SMALL_TILES, crack_ortho

SMALL = {"tile_core": SMALL_TILES.tile_core, "tile_margin": SMALL_TILES.tile_margin, "min_crack_length_m": 0.05}


def test_cracks_as_geodataframes_in_the_raster_crs(tmp_path: Path, toy_cascade) -> None:
    ortho, _ = crack_ortho(tmp_path)
    found = geowarn.detect(ortho, tmp_path / "out", cascade=toy_cascade, **SMALL)
    with rasterio.open(ortho) as src:
        crs = src.crs
    assert len(found.cracks) == len(found.centerlines) == found.n_cracks == 1
    assert found.cracks.crs == crs and found.centerlines.crs == crs
    assert {"crack_id", "length_m", "length_unc_m", "mean_width_m", "width_unc_m"} <= set(found.cracks.columns)
    assert found.probability_path == tmp_path / "out" / "crack_prob.tif" and found.mask_path.is_file()
    assert found.summary["input"]["sha256"] and found.summary["config"]["min_crack_length_m"] == 0.05
    assert len(found.wide) == 0 and found.wide.crs == crs  # nothing wider than 0.30 m here
    assert set(found.wide.columns) == set(found.cracks.columns)


def test_without_out_the_outputs_live_in_a_temporary_folder(tmp_path: Path, toy_cascade) -> None:
    ortho, _ = crack_ortho(tmp_path)
    found = geowarn.detect(ortho, cascade=toy_cascade, classifier=None, **SMALL)
    assert found.summary["config"]["classifier"] is None  # None is a value here: no tile gate
    folder = found.out_dir
    assert found.mask_path.is_file() and len(found.cracks) == 1
    found.cleanup()
    assert not folder.exists()


def test_an_unknown_setting_names_itself_and_the_valid_keys(tmp_path: Path) -> None:
    with pytest.raises(geowarn.ConfigError) as info:
        geowarn.detect(tmp_path / "missing.tif", min_lenght_m=0.2)
    message = str(info.value)
    assert "key 'min_lenght_m'" in message and "unknown key" in message
    assert "keys allowed here: classifier, segmenter," in message and "min_crack_length_m" in message


def test_the_api_is_documented_and_loaded_on_first_use() -> None:
    text = pydoc.render_doc(geowarn.detect)
    assert "Args:" in text and "Returns:" in text and "Raises:" in text
    assert {"detect", "Detection", "Workspace", "load_settings", "ConfigError"} <= set(dir(geowarn))
    assert "Workspace(db_url_or_path" in pydoc.render_doc(geowarn.Workspace)
    with pytest.raises(AttributeError):
        _ = geowarn.no_such_thing  # type: ignore[attr-defined]
