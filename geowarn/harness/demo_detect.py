"""The README demo: a synthetic slope orthomosaic with known cracks, detected and checked."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from geowarn.harness.synthetic import demo_scene
from geowarn.io.outputs import GPKG_NAME
from geowarn.pipeline.detect import detect
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.pipeline.report import detect_summary


def compare_with_truth(truth: gpd.GeoDataFrame, centerlines: gpd.GeoDataFrame, tolerance_m: float) -> dict[str, float]:
    """Length-based agreement between true and detected centerlines.

    Returns the share of true crack length with a detection within ``tolerance_m`` (recall), the
    share of detected length within ``tolerance_m`` of a true crack (precision), and totals.
    """
    truth_union = truth.geometry.union_all()
    detected_union = centerlines.geometry.union_all() if len(centerlines) else None
    true_len = float(truth.geometry.length.sum())
    det_len = float(centerlines.geometry.length.sum()) if len(centerlines) else 0.0
    found = truth_union.intersection(detected_union.buffer(tolerance_m)).length if detected_union else 0.0
    correct = detected_union.intersection(truth_union.buffer(tolerance_m)).length if detected_union else 0.0
    return {
        "true_length_m": true_len,
        "detected_length_m": det_len,
        "recall_by_length": found / true_len if true_len else 1.0,
        "precision_by_length": correct / det_len if det_len else 1.0,
    }


def run_demo(out: Path, seed: int = 2026, progress: bool | None = None, quiet: bool = False) -> str:
    """Generate the scene into ``out``, detect, compare with the truth; return the summary text."""
    out.mkdir(parents=True, exist_ok=True)
    scene = demo_scene(out / "demo_ortho.tif", seed=seed)
    truth = scene.truth_lines()
    scene.save_truth(out / "demo_truth.gpkg")
    result = detect(scene.path, out / "detect", DetectConfig(), progress=progress, quiet=quiet)
    centerlines = gpd.read_file(out / "detect" / GPKG_NAME, layer="crack_centerlines")
    agreement = compare_with_truth(truth, centerlines, tolerance_m=5 * scene.gsd_m)
    lines = [
        f"geowarn demo: synthetic {scene.width} x {scene.height} px slope at {scene.gsd_m * 100:.0f} cm "
        f"({scene.crs}) with {len(truth)} true cracks, {agreement['true_length_m']:.2f} m in total",
        f"  ortho   {scene.path}",
        f"  truth   {out / 'demo_truth.gpkg'}",
        detect_summary(result),
        f"  vs truth (5 px tolerance): {agreement['recall_by_length']:.0%} of the true crack length found, "
        f"{agreement['precision_by_length']:.0%} of the detected length on true cracks",
    ]
    return "\n".join(lines)
