"""Natural-ground figures: false alarms on crack-free frames (both paths), transplanted cracks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image

from geowarn.evaluation.defaults import format_report
from geowarn.evaluation.natural import natural_false_alarms, transplant_scores, write_geotiff
from geowarn.inference.cascade import Cascade


def _ground(seed: int, side: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(140, 5, (side, side, 3)), 0, 255).astype(np.uint8)


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    folder = tmp_path / "natural" / "no-crack"
    folder.mkdir(parents=True)
    for frame in range(5):
        for k in range(2):
            Image.fromarray(_ground(frame * 2 + k, 320)).save(folder / f"IMG_{100 + frame}_{k}.png")
    pairs = tmp_path / "crack-seg" / "toy" / "test"
    (pairs / "images").mkdir(parents=True)
    (pairs / "masks").mkdir(parents=True)
    for i in range(3):
        image, mask = _ground(50 + i, 160), np.zeros((160, 160), np.uint8)
        mask[:, 78 + i : 82 + i] = 255
        image[mask > 0] = 25
        Image.fromarray(image).save(pairs / "images" / f"c{i}.png")
        Image.fromarray(mask).save(pairs / "masks" / f"c{i}.png")
    return tmp_path


def test_write_geotiff_is_georeferenced_at_the_gsd(tmp_path: Path) -> None:
    path = write_geotiff(_ground(0, 40), tmp_path / "a.tif", gsd_m=0.02)
    with rasterio.open(path) as src:
        assert src.count == 3 and src.crs.to_epsg() == 32614
        assert src.res == pytest.approx((0.02, 0.02))


def test_false_alarms_cover_both_paths_on_the_test_frames(tiny_data: Path) -> None:
    report = natural_false_alarms(tiny_data)
    assert report["images"] == 2  # the last of five frames, both crops
    for path in ("detect", "monitor"):
        row = report[path]
        assert row["valid_pixels"] == 2 * 320 * 320
        assert row["area_ha"] == pytest.approx(2 * 320 * 320 * 0.02**2 / 1e4)
        assert 0.0 <= row["flagged_fraction"] <= row["thresholded_fraction"] <= 1.0
        assert row["length_m_per_ha"] == pytest.approx(row["length_m"] / row["area_ha"])
    assert report["monitor"]["crack_pixels"] >= report["detect"]["crack_pixels"]  # the gate only removes


def test_transplanted_dark_lines_are_scored(tiny_data: Path, toy_cascade: Cascade) -> None:
    """The toy segmenter marks dark pixels: the transplanted lines are found, the ground is not."""
    report = transplant_scores(tiny_data, toy_cascade, {"toy": "test"}, per_source=3, scales=(1.0, 0.5), side=96)
    for scale in ("scale_1", "scale_0.5"):
        seg, cas = report[scale]["segmenter"], report[scale]["cascade"]
        assert seg["recall_2px"] > 0.9 and seg["precision_2px"] > 0.9, (scale, seg)
        assert cas["recall_2px"] <= seg["recall_2px"]  # the gate only blanks whole crops


def test_report_prints_the_natural_lines() -> None:
    row = {
        "flagged_fraction": 0.001,
        "thresholded_fraction": 0.004,
        "cracks": 3,
        "length_m": 1.5,
        "area_ha": 0.1,
        "length_m_per_ha": 15.0,
    }
    scores = {"f1_2px": 0.5, "precision_2px": 0.5, "recall_2px": 0.5}
    report = {
        "metric": "F1",
        "sources": {},
        "false_alarms": {"raster": "x/australia.tif", "detect": row, "monitor": row},
        "natural_false_alarms": {"images": 24, "detect": row, "monitor": row},
        "natural_transplants": {"scale_0.5": {"segmenter": scores, "cascade": scores}},
    }
    text = format_report(report)
    assert (
        "australia.tif (monitor path): 0.100 % of pixels (0.400 % before the shape filters), "
        "3 cracks, 1.5 m over 0.1000 ha = 15.0 m/ha"
    ) in text
    assert "natural/no-crack test (24 frames, detect path): 0.100 % of pixels" in text
    assert "(scale 0.5): segmenter F1@2 0.500" in text
