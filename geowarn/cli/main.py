"""The ``geowarn`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from geowarn import __version__
from geowarn.cli.monitor import add_monitor_commands
from geowarn.cli.train import add_eval_commands, add_train_commands
from geowarn.errors import GeowarnError

#: Exit status for bad input, configuration, models or output location.
EXIT_USAGE = 2


def _add_detect_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="YAML file with detect settings (see config/detect.yaml)")
    p.add_argument("--classifier", help="tile gate model, or 'none' to segment every tile")
    p.add_argument("--segmenter", help="segmentation model name")
    p.add_argument("--classifier-weights", type=Path, help="weights file for the gate")
    p.add_argument("--segmenter-weights", type=Path, help="weights file for the segmenter")
    p.add_argument("--gate-threshold", type=float, help="tile gate threshold (default: from the weights manifest)")
    p.add_argument("--prob-threshold", type=float, help="crack mask threshold (default: from the weights manifest)")
    p.add_argument("--min-length", type=float, dest="min_crack_length_m", help="drop cracks shorter than this (m)")
    p.add_argument("--target-gsd", type=float, dest="target_gsd_m", help="resample tiles to this GSD (m) first")
    p.add_argument("--tile-size", type=int, dest="tile_core", help="tile stride in px (default 256)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the models run (default auto)")
    p.add_argument("--threads", type=int, help="CPU threads for the models (default: all cores)")


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr; summary still printed")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show a bar")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")
    p.add_argument("--log-format", choices=["logfmt", "json"], default="logfmt", help="log line format on stderr")


def _detect_overrides(args: argparse.Namespace) -> dict[str, object]:
    keys = (
        "segmenter",
        "classifier_weights",
        "segmenter_weights",
        "gate_threshold",
        "prob_threshold",
        "min_crack_length_m",
        "target_gsd_m",
        "tile_core",
        "device",
        "threads",
    )
    overrides: dict[str, object] = {k: getattr(args, k) for k in keys}
    overrides["classifier"] = args.classifier  # "none" disables the gate (see DetectConfig)
    return overrides


def _setup_logs(args: argparse.Namespace) -> None:
    from geowarn.logs import setup_logging

    setup_logging("error" if args.quiet else "info", args.log_format)


def cmd_detect(args: argparse.Namespace) -> int:
    """Run crack detection on one orthomosaic."""
    from geowarn.pipeline.detect import detect
    from geowarn.pipeline.detect_config import load_detect_config
    from geowarn.report import detect_summary

    _setup_logs(args)
    config = load_detect_config(args.config, _detect_overrides(args))
    result = detect(args.ortho, args.out, config, progress=args.progress, quiet=args.quiet)
    print(detect_summary(result))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Detect cracks in a synthetic orthomosaic, then monitor a synthetic site over four surveys."""
    from geowarn.harness.demo_detect import run_demo
    from geowarn.harness.demo_monitor import run_monitor_demo

    _setup_logs(args)
    if not args.monitor_only:
        print(run_demo(args.out, seed=args.seed, progress=args.progress, quiet=args.quiet))
        print()
    if not args.detect_only:
        print(run_monitor_demo(args.out / "monitor", seed=args.seed))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """List registered models and their shipped weights."""
    from geowarn.models.registry import list_models
    from geowarn.models.weights import manifest_entry

    rows = []
    for spec in list_models():
        entry = manifest_entry(spec.name) or {}
        rows.append(
            {
                "name": spec.name,
                "task": spec.task,
                "weights": entry.get("file"),
                "sha256": entry.get("sha256"),
                "threshold": entry.get("threshold"),
                "description": spec.description,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        width = max((len(str(r["name"])) for r in rows), default=0)
        for r in rows:
            print(
                f"{r['name']:<{width}} {r['task']:<9} weights={r['weights'] or '-'} threshold={r['threshold']}  "
                f"{r['description']}"
            )
    return 0


def cmd_eval_defaults(args: argparse.Namespace) -> int:
    """Score the shipped models on the held-out real data (model card figures)."""
    from geowarn.evaluation.defaults import evaluate_defaults, format_report

    _setup_logs(args)
    report = evaluate_defaults(args.data, limit=args.limit)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(format_report(report))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a model to TorchScript and ONNX; status 1 when they disagree with PyTorch."""
    from geowarn.export import DEFAULT_TOLERANCES, export_model, format_export

    tolerances = DEFAULT_TOLERANCES if args.tolerance is None else (args.tolerance, args.tolerance)
    record = export_model(
        args.source, args.out, data=args.data, batch=args.batch, size=args.size, opset=args.opset, tolerances=tolerances
    )
    print(format_export(record))
    return 0 if record["parity"]["ok"] else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="geowarn",
        description="Landslide early warning from UAV orthomosaics: detect, measure and track surface cracks.",
    )
    parser.add_argument("--version", action="version", version=f"geowarn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "detect",
        help="detect cracks in an orthomosaic (GeoTIFF/COG)",
        description="Write crack_prob.tif, crack_mask.tif (COGs on the input grid), cracks.gpkg "
        "(layers crack_polygons, crack_centerlines; metres) and run.json into --out.",
    )
    p.add_argument("ortho", type=Path, help="orthomosaic GeoTIFF/COG (RGB/RGBA, uint8/uint16, projected CRS)")
    p.add_argument("--out", type=Path, required=True, help="output folder (created if needed)")
    _add_detect_options(p)
    _add_output_options(p)
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser(
        "demo",
        help="detect cracks in a synthetic orthomosaic, then monitor a synthetic site over four surveys",
        description="No data or server needed: builds a 2048 x 2048 px, 2 cm scene with a crack "
        "network of known geometry, runs detect with the shipped weights and compares with the truth; then "
        "monitors a synthetic site surveyed four times whose main crack grows, delivering the alerts to "
        "files in OUT/monitor/workspace/outbox.",
    )
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder (default demo-output)")
    p.add_argument("--seed", type=int, default=2026, help="scene seed")
    part = p.add_mutually_exclusive_group()
    part.add_argument("--detect-only", action="store_true", help="only the single-orthomosaic detection demo")
    part.add_argument("--monitor-only", action="store_true", help="only the four-survey monitoring demo")
    _add_output_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("models", help="list the model registry and shipped weights")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("eval", help="evaluate models on held-out real data")
    eval_sub = p.add_subparsers(dest="eval_command", required=True, metavar="WHAT")
    e = eval_sub.add_parser("defaults", help="shipped models vs a morphological baseline on ../shared/data test splits")
    e.add_argument("--data", type=Path, default=Path("../shared/data"), help="the real data folder")
    e.add_argument("--json", type=Path, help="also write the figures as JSON here")
    e.add_argument("--limit", type=int, help="at most this many images per source (quick check)")
    _add_output_options(e)
    e.set_defaults(func=cmd_eval_defaults)
    add_eval_commands(eval_sub, _add_output_options)

    p = sub.add_parser(
        "export",
        help="export a model to TorchScript and ONNX and check both against PyTorch",
        description="Write NAME.torchscript.pt, NAME.onnx and NAME.export.json into --out. Parity (max abs "
        "logit difference vs PyTorch) is measured on real images from --data, or seeded random pixels when "
        "they are absent; exits with status 1 when it exceeds the tolerance.",
    )
    p.add_argument("source", help="registered model with shipped weights (see 'geowarn models') or a checkpoint file")
    p.add_argument("--out", type=Path, required=True, help="output folder (created if needed)")
    p.add_argument("--data", type=Path, default=Path("../shared/data"), help="real data folder for parity inputs")
    p.add_argument("--batch", type=int, default=4, help="images in the parity batch (default 4)")
    p.add_argument("--size", type=int, help="square input side in px (default: the model's, else 128)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument(
        "--tolerance",
        type=float,
        help="max abs logit difference accepted for both formats (default 1e-4 TorchScript, 1e-3 ONNX)",
    )
    p.set_defaults(func=cmd_export)

    add_monitor_commands(sub, _add_output_options)
    add_train_commands(sub, _add_output_options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input/config/models/output)."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except GeowarnError as exc:
        print(f"geowarn: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("geowarn: interrupted; no partial outputs were kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
