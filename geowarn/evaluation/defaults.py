"""Figures for the model card: shipped models vs the morphological baseline on held-out real data.

Segmentation: F1 with 0 and 2 px tolerance (pixel masks, dataset-level counts) on each source's
``test`` split, or its ``val`` split where the source has no test split and that val split was
never used for training or selection (crack500, deepcrack), and the natural rock-fracture photos.
False alarms: flagged share of pixels and crack length per hectare that ``detect`` reports on
``geotiff/australia.tif`` (a real drone orthomosaic of scrub without cracks that no model saw in
training) and on the natural test frames (:mod:`geowarn.evaluation.natural`), on the gated detect
path and the ungated monitoring path; and held-out cracks transplanted onto natural test frames.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geowarn.errors import ConfigError
from geowarn.evaluation.natural import (
    ROCK_FRACTURE_FOLDER,
    natural_false_alarms,
    path_configs,
    rock_fracture_pairs,
    transplant_scores,
)
from geowarn.harness.natural import NATURAL_FOLDER
from geowarn.logs import log_event
from geowarn.metrics.tolerance import ToleranceCounts, tolerance_counts
from geowarn.models.baseline import BlackHatParams, blackhat_detect
from geowarn.pipeline.detect import detect
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.pipeline.rows import load_cascade
from geowarn.training.datasets import discover_pairs, load_pairs
from geowarn.training.defaults_data import SELECTION_SOURCES

log = logging.getLogger("geowarn.eval")

FALSE_ALARM_RASTER = "geotiff/australia.tif"
BASELINE_GRID = [
    BlackHatParams(k, t, a)
    for k in (5, 9, 15, 21, 31)
    for t in (10.0, 15.0, 20.0, 30.0, 40.0, 55.0, 70.0, 85.0, 100.0)
    for a in (30, 100)
]


def evaluation_splits(seg_root: Path) -> dict[str, str]:
    """Held-out split per source: ``test`` where present, else an untouched ``val``."""
    splits: dict[str, str] = {}
    for source in sorted(p.name for p in seg_root.iterdir() if p.is_dir()):
        if (seg_root / source / "test").is_dir():
            splits[source] = "test"
        elif (seg_root / source / "val").is_dir() and source not in SELECTION_SOURCES:
            splits[source] = "val"
    return splits


def tune_baseline(seg_root: Path, limit: int | None) -> BlackHatParams:
    """Best black-hat parameters by F1@2px on the selection val splits (as the models were)."""
    pairs = load_pairs(discover_pairs(seg_root, "val", SELECTION_SOURCES)[: limit or None])
    best, best_f1 = BASELINE_GRID[0], -1.0
    for params in BASELINE_GRID:
        counts = ToleranceCounts()
        for image, mask in pairs:
            counts += tolerance_counts(blackhat_detect(image, params), mask.astype(bool), 2.0)
        if counts.f1 > best_f1:
            best, best_f1 = params, counts.f1
    return best


def _row(counts2: ToleranceCounts, counts0: ToleranceCounts) -> dict[str, float]:
    return {
        "f1_2px": counts2.f1,
        "precision_2px": counts2.precision,
        "recall_2px": counts2.recall,
        "f1_0px": counts0.f1,
    }


def _full_image_prob(cascade: Any, image: NDArray[np.uint8]) -> tuple[NDArray[np.float32], float]:
    """Segmenter probability of a whole image and the gate's crack probability for it."""
    tile = image[None]
    prob = cascade.segment(tile, 1)[0]
    gate = float(cascade.classify(tile, 1)[0]) if cascade.classifier else 1.0
    return prob, gate


def held_out_pairs(data: Path, source: str, split: str, limit: int | None) -> list[tuple[Any, Any]]:
    """The pairs of one evaluation source (``rock-fracture`` is the natural rock-face folder)."""
    if source == "rock-fracture":
        return rock_fracture_pairs(data)[: limit or None]
    return load_pairs(discover_pairs(data / "crack-seg", split, [source])[: limit or None])


def evaluate_defaults(data: Path, limit: int | None = None) -> dict[str, Any]:
    """Score the shipped cascade, its segmenter alone and the baseline; see the module docstring."""
    seg_root = data / "crack-seg"
    if not seg_root.is_dir():
        raise ConfigError(f"{seg_root} not found; pass --data pointing at the shared data folder")
    cascade = load_cascade(DetectConfig(device="cpu"))
    threshold = cascade.segmenter.threshold
    gate_threshold = cascade.classifier.threshold if cascade.classifier else 0.0
    t0 = time.perf_counter()
    baseline = tune_baseline(seg_root, limit)
    log_event(
        log,
        "baseline tuned",
        kernel=baseline.kernel,
        threshold=baseline.threshold,
        seconds=round(time.perf_counter() - t0, 1),
    )
    per_source: dict[str, Any] = {}
    splits = evaluation_splits(seg_root)
    sources = dict(splits)
    if (data / ROCK_FRACTURE_FOLDER).is_dir():
        sources["rock-fracture"] = "all"
    for source, split in sources.items():
        pairs = held_out_pairs(data, source, split, limit)
        counts = {k: (ToleranceCounts(), ToleranceCounts()) for k in ("segmenter", "cascade", "baseline")}
        gated = 0
        for image, mask in pairs:
            truth = mask.astype(bool)
            prob, gate = _full_image_prob(cascade, image)
            seg = prob >= threshold
            cas = seg if gate >= gate_threshold else np.zeros_like(seg)
            gated += int(gate < gate_threshold)
            base = blackhat_detect(image, baseline)
            for key, pred in (("segmenter", seg), ("cascade", cas), ("baseline", base)):
                counts[key][0].__iadd__(tolerance_counts(pred, truth, 2.0))
                counts[key][1].__iadd__(tolerance_counts(pred, truth, 0.0))
        per_source[source] = {"split": split, "images": len(pairs), "gated_out_images": gated}
        per_source[source].update({k: _row(*v) for k, v in counts.items()})
        log_event(
            log,
            "source scored",
            source=source,
            split=split,
            images=len(pairs),
            cascade_f1_2px=round(per_source[source]["cascade"]["f1_2px"], 4),
            baseline_f1_2px=round(per_source[source]["baseline"]["f1_2px"], 4),
        )
    return {
        "dataset": str(data),
        "metric": "F1 with 2 px tolerance (and 0 px), pixel masks, counts summed over the split",
        "segmenter": {"name": cascade.segmenter.spec.name, "threshold": threshold, "sha256": cascade.segmenter.sha256},
        "classifier": {
            "name": cascade.classifier.spec.name,
            "threshold": gate_threshold,
            "sha256": cascade.classifier.sha256,
        }
        if cascade.classifier
        else None,
        "baseline": {
            "kernel": baseline.kernel,
            "threshold": baseline.threshold,
            "min_area": baseline.min_area,
            "tuned_on": [f"{s}/val" for s in SELECTION_SOURCES],
        },
        "sources": per_source,
        "false_alarms": false_alarm_rate(data / FALSE_ALARM_RASTER),
        **natural_ground_figures(data, cascade, splits, limit),
        "limit_per_source": limit,
    }


def natural_ground_figures(data: Path, cascade: Any, splits: dict[str, str], limit: int | None) -> dict[str, Any]:
    """Natural-ground false alarms and transplanted-crack scores, or why they were skipped."""
    if not (data / NATURAL_FOLDER).is_dir():
        skipped = {"skipped": f"{NATURAL_FOLDER} not found"}
        return {"natural_false_alarms": skipped, "natural_transplants": skipped}
    return {
        "natural_false_alarms": natural_false_alarms(data, limit),
        "natural_transplants": transplant_scores(data, cascade, splits, per_source=min(limit or 20, 20)),
    }


def false_alarm_rate(raster: Path) -> dict[str, Any]:
    """Flagged share and crack length per hectare that ``detect`` finds on ``raster``, per path."""
    if not raster.exists():
        return {"raster": str(raster), "skipped": "file not found"}
    out: dict[str, Any] = {"raster": str(raster)}
    for label, config in path_configs().items():
        with tempfile.TemporaryDirectory() as tmp:
            result = detect(raster, Path(tmp), config, progress=False, quiet=True)
        gsd = result.manifest["input"]["raster"]["gsd_m"]
        hectares = result.counts["valid_pixels"] * gsd * gsd / 1e4
        out[label] = {
            "cracks": result.n_cracks,
            "length_m": result.total_length_m,
            "area_ha": hectares,
            "length_m_per_ha": result.total_length_m / hectares if hectares else None,
            "flagged_fraction": result.counts["crack_pixels"] / max(result.counts["valid_pixels"], 1),
            "thresholded_fraction": result.counts["thresholded_pixels"] / max(result.counts["valid_pixels"], 1),
            "tiles_gated_in": result.counts["tiles_positive"],
            "tiles": result.counts["tiles_classified"],
        }
    return out


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of :func:`evaluate_defaults` results."""
    lines = [
        f"Metric: {report['metric']}",
        f"{'source':<20}{'split':<6}{'n':>5}  {'cascade F1@2':>12}{'cascade R@2':>12}{'segm. F1@2':>11}"
        f"{'baseline F1@2':>14}{'cascade F1@0':>13}",
    ]
    for source, r in report["sources"].items():
        lines.append(
            f"{source:<20}{r['split']:<6}{r['images']:>5}  {r['cascade']['f1_2px']:>12.3f}"
            f"{r['cascade']['recall_2px']:>12.3f}{r['segmenter']['f1_2px']:>11.3f}{r['baseline']['f1_2px']:>14.3f}"
            f"{r['cascade']['f1_0px']:>13.3f}"
        )
    fa, nat = report["false_alarms"], report.get("natural_false_alarms", {})
    grounds = [(f"natural/no-crack test ({nat.get('images')} frames, {{}} path)", nat)]
    if "raster" in fa:
        grounds.insert(0, (f"{Path(fa['raster']).name} ({{}} path)", fa))
    for label, rows in grounds:
        for key in (k for k in ("detect", "monitor") if k in rows):
            v = rows[key]
            lines.append(
                f"false alarms on {label.format(key)}: {100 * v['flagged_fraction']:.3f} % of pixels "
                f"({100 * v['thresholded_fraction']:.3f} % before the shape filters), "
                f"{v['cracks']} cracks, {v['length_m']:.1f} m over {v['area_ha']:.4f} ha = "
                f"{v['length_m_per_ha']:.1f} m/ha"
            )
    tp = report.get("natural_transplants", {})
    for key in (k for k in tp if k.startswith("scale_")):
        seg, cas = tp[key]["segmenter"], tp[key]["cascade"]
        line = (
            f"held-out cracks on natural test ground ({key.replace('_', ' ')}): segmenter F1@2 {seg['f1_2px']:.3f} "
            f"(R {seg['recall_2px']:.3f}), cascade F1@2 {cas['f1_2px']:.3f} (R {cas['recall_2px']:.3f})"
        )
        if "detect" in tp[key]:
            det = tp[key]["detect"]
            line += f", detect (filters, verifier) F1@2 {det['f1_2px']:.3f} (R {det['recall_2px']:.3f})"
        lines.append(line)
    return "\n".join(lines)
