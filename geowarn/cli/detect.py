"""``geowarn detect``: cracks in one orthomosaic."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geowarn.cli.common import add_output_options, parse_pixels, setup_logs

#: Options that override a detect setting of the same name (besides the model settings).
_OVERRIDES = (
    "min_crack_length_m",
    "max_crack_width_m",
    "target_gsd_m",
    "tile_core",
    "device",
    "threads",
    "max_pixels",
    "cluster",
)


def add_detect_options(p: argparse.ArgumentParser) -> None:
    """The detect settings as options (``--config`` and its overrides)."""
    p.add_argument("--config", type=Path, help="YAML file with detect settings (see config/detect.yaml)")
    p.add_argument("--classifier", help="tile gate model, or 'none' to segment every tile")
    p.add_argument("--segmenter", help="segmentation model name")
    p.add_argument("--classifier-weights", type=Path, help="weights file for the gate")
    p.add_argument("--segmenter-weights", type=Path, help="weights file for the segmenter")
    p.add_argument("--gate-threshold", type=float, help="tile gate threshold (default: from the weights manifest)")
    p.add_argument("--prob-threshold", type=float, help="crack mask threshold (default: from the weights manifest)")
    p.add_argument("--verifier", help="model that looks again at each crack candidate, or 'none'")
    p.add_argument("--verifier-weights", type=Path, help="weights file for the verifier")
    p.add_argument(
        "--verify-threshold", type=float, help="candidates scoring below this are not cracks (default: manifest)"
    )
    p.add_argument("--min-length", type=float, dest="min_crack_length_m", help="drop cracks shorter than this (m)")
    p.add_argument(
        "--max-width", type=float, dest="max_crack_width_m", help="drop features wider than this on average (m)"
    )
    p.add_argument("--target-gsd", type=float, dest="target_gsd_m", help="resample tiles to this GSD (m) first")
    p.add_argument("--tile-size", type=int, dest="tile_core", help="tile stride in px (default 256)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the models run (default auto)")
    p.add_argument("--threads", type=int, help="CPU threads for the models (default: all cores)")
    p.add_argument(
        "--cluster",
        help="run the tiles on Dask: local, local:N (N worker processes here) or a scheduler address "
        "(tcp://host:8786); default: in this process",
    )
    p.add_argument(
        "--max-pixels",
        type=parse_pixels,
        help="largest orthomosaic accepted, in pixels (default $GEOWARN_MAX_PIXELS, else 4e9)",
    )


def detect_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The detect settings given as options ('none' for ``--classifier`` disables the gate)."""
    from geowarn.pipeline.detect_config import MODEL_SETTINGS

    return {key: getattr(args, key) for key in (*MODEL_SETTINGS, *_OVERRIDES)}


def cmd_detect(args: argparse.Namespace) -> int:
    """Run crack detection on one orthomosaic."""
    from geowarn.api import detect
    from geowarn.pipeline.detect_config import load_detect_config
    from geowarn.pipeline.report import detect_summary

    setup_logs(args)
    config = load_detect_config(args.config, detect_overrides(args))
    result = detect(args.ortho, args.out, config=config, progress=args.progress, quiet=args.quiet)
    print(detect_summary(result))
    return 0


def add_commands(sub: Any) -> None:
    """``geowarn detect``."""
    p = sub.add_parser(
        "detect",
        help="detect cracks in an orthomosaic (GeoTIFF/COG)",
        description="Write crack_prob.tif, crack_mask.tif (COGs on the input grid), cracks.gpkg "
        "(layers crack_polygons, crack_centerlines, and wide_features and unconfirmed_features kept for "
        "review; metres) and run.json into --out.",
    )
    p.add_argument("ortho", type=Path, help="orthomosaic GeoTIFF/COG (RGB/RGBA, uint8/uint16, projected CRS)")
    p.add_argument("--out", type=Path, required=True, help="output folder (created if needed)")
    add_detect_options(p)
    add_output_options(p)
    p.set_defaults(func=cmd_detect)
