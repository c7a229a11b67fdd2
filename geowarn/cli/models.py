"""``geowarn models`` and ``geowarn export``: the model registry, and models exported for other runtimes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


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


def cmd_export(args: argparse.Namespace) -> int:
    """Export a model to TorchScript and ONNX; status 1 when they disagree with PyTorch."""
    from geowarn.export import DEFAULT_TOLERANCES, export_model, format_export

    tolerances = DEFAULT_TOLERANCES if args.tolerance is None else (args.tolerance, args.tolerance)
    record = export_model(
        args.source, args.out, data=args.data, batch=args.batch, size=args.size, opset=args.opset, tolerances=tolerances
    )
    print(format_export(record))
    return 0 if record["parity"]["ok"] else 1


def add_models_command(sub: Any) -> None:
    """``geowarn models``."""
    p = sub.add_parser("models", help="list the model registry and shipped weights")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_models)


def add_export_command(sub: Any) -> None:
    """``geowarn export``."""
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
