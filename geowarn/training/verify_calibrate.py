"""Pick the crack verifier's threshold on validation scenes, per candidate rather than per patch.

Every validation scene of :mod:`geowarn.training.verify_data` (natural frames with and without
synthetic shadows, transplanted and photographed selection-split cracks, enlarged sunlit
vegetation) is run through ``detect`` with every tile segmented and the verifier scoring every
candidate (threshold 0). A candidate is a true crack when at least half of its pixels lie within
2 px of one. The threshold is the highest on a 0.05 grid that keeps at least ``KEEP`` of the
true cracks' length: missing a crack costs more than a false one a geologist dismisses.

    python -m geowarn.training.verify_calibrate --weights runs/verify-s/best.pt --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
from affine import Affine
from rasterio.features import rasterize

from geowarn.harness.natural import detect_scene
from geowarn.inference.cascade import Cascade
from geowarn.io.outputs import GPKG_NAME
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.pipeline.rows import load_cascade
from geowarn.training.verify_data import (
    VEGETATION,
    Image8,
    VerifyDataOptions,
    near_truth,
    scenes,
    vegetation_views,
)
from geowarn.vectorize import POLYGON_LAYER

#: Share of the true cracks' length the chosen threshold keeps on the validation scenes.
KEEP = 0.95
GRID = tuple(round(0.05 * i, 2) for i in range(20))


def scored_candidates(
    image: Image8, truth: Image8 | None, cascade: Cascade, config: DetectConfig, tmp: Path
) -> list[tuple[float, float, bool]]:
    """(length m, verifier score, true crack) of every candidate ``detect`` reports on ``image``."""
    result = detect_scene(image, tmp, config, cascade)
    found = gpd.read_file(result.outputs[GPKG_NAME], layer=POLYGON_LAYER)
    near = near_truth(truth)
    transform = Affine(*result.manifest["input"]["raster"]["transform"])
    rows = []
    for geometry, length, score in zip(found.geometry, found["length_m"], found["verify_score"], strict=True):
        true = False
        if near is not None:
            pixels = rasterize([geometry], out_shape=image.shape[:2], transform=transform) > 0
            true = bool(pixels.any() and near[pixels].mean() >= 0.5)
        rows.append((float(length), float(score), true))
    return rows


def kept_share(candidates: list[tuple[float, float]]) -> dict[float, float]:
    """Share of the candidates' length (first item) scoring (second) at least each threshold of ``GRID``."""
    total = sum(n for n, _ in candidates)
    return {t: sum(n for n, s in candidates if s >= t) / total if total else 0.0 for t in GRID}


def pick_threshold(crack_kept: dict[float, float], keep: float = KEEP) -> float:
    """The highest threshold that keeps at least ``keep`` of the true cracks' length (0 if none)."""
    return max((t for t, share in crack_kept.items() if share >= keep), default=0.0)


def calibrate(data: Path, weights: Path, opts: VerifyDataOptions | None = None) -> dict[str, Any]:
    """Kept length share per scene kind at each threshold of ``GRID``, and the threshold chosen."""
    opts = opts or VerifyDataOptions()
    config = DetectConfig(classifier=None, verifier="verify-s", verifier_weights=weights, verify_threshold=0.0)
    cascade = load_cascade(config)
    rng = np.random.default_rng(opts.seed + 1)  # the validation scenes of verify_data
    groups = (
        scenes(data, "val", opts, rng),
        vegetation_views(data / "geotiff" / VEGETATION["val"], opts.vegetation_scales),
    )
    rows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for group in groups:
            for kind, image, truth in group:
                for length, score, true in scored_candidates(image, truth, cascade, config, Path(tmp) / "scene"):
                    rows[f"{kind} {'crack' if true else 'false'}" if truth is not None else kind].append(
                        (length, score)
                    )
    kept = {kind: kept_share(found) for kind, found in sorted(rows.items())}
    cracks = [r for kind, found in rows.items() if kind.endswith(" crack") for r in found]
    crack_kept = kept_share(cracks)
    return {
        "rule": f"highest threshold on a 0.05 grid keeping >= {KEEP:.0%} of the true cracks' length",
        "threshold": pick_threshold(crack_kept),
        "true_crack_length_kept": crack_kept,
        "kept_length_share": kept,
        "candidates": {kind: {"n": len(found), "length_m": sum(n for n, _ in found)} for kind, found in rows.items()},
    }


def main(argv: list[str] | None = None) -> None:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True, help="verifier checkpoint (best.pt) or weights")
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--json", type=Path, help="write the full table here")
    args = parser.parse_args(argv)
    report = calibrate(args.data, args.weights)
    for kind, shares in report["kept_length_share"].items():
        print(f"{kind:<26}" + " ".join(f"{shares[t]:.2f}" for t in GRID[2::2]))
    print(f"{'thresholds':<26}" + " ".join(f"{t:.2f}" for t in GRID[2::2]))
    print(f"threshold: {report['threshold']:.2f} ({report['rule']})")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
