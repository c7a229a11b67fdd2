"""``geowarn eval defaults|classify|segment``: the model-card figures, and checkpoints scored on folders."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from geowarn.cli.common import add_output_options, setup_logs


def cmd_eval_defaults(args: argparse.Namespace) -> int:
    """Score the shipped models on the held-out real data (model card figures)."""
    from geowarn.evaluation.defaults import evaluate_defaults, format_report

    setup_logs(args)
    report = evaluate_defaults(args.data, limit=args.limit)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(format_report(report))
    return 0


def cmd_eval_model(args: argparse.Namespace) -> int:
    """Score a checkpoint or shipped model on folders; print the table, optionally write JSON."""
    from geowarn.device import pick_device
    from geowarn.evaluation.checkpoint import evaluate_folders, format_table, load_evaluated, write_json
    from geowarn.training.config import DataConfig

    setup_logs(args)
    device = pick_device(args.device)
    ev = load_evaluated(args.checkpoint, args.task, device)
    if args.threshold is not None:
        ev.threshold = args.threshold
    if args.resize is not None:
        ev.augment = ev.augment.model_copy(update={"resize": args.resize})
    data = DataConfig(positive=args.positive, negative=args.negative)
    split = None if args.split in (None, "", "none") else args.split
    reports = evaluate_folders(ev, args.data, split, data, device, args.batch_size, args.limit)
    print(format_table(args.task, ev.name, reports))
    if args.json:
        payload = {
            "task": args.task,
            "model": ev.name,
            "checkpoint": ev.source,
            "threshold": ev.threshold,
            "split": split,
            "data": [str(d) for d in args.data],
            "reports": reports,
        }
        write_json(args.json, payload)
    return 0


def add_commands(sub: Any) -> None:
    """``geowarn eval defaults|classify|segment``."""
    p = sub.add_parser("eval", help="evaluate models on held-out real data")
    eval_sub = p.add_subparsers(dest="eval_command", required=True, metavar="WHAT")
    e = eval_sub.add_parser("defaults", help="shipped models vs a morphological baseline on ../shared/data test splits")
    e.add_argument("--data", type=Path, default=Path("../shared/data"), help="the real data folder")
    e.add_argument("--json", type=Path, help="also write the figures as JSON here")
    e.add_argument("--limit", type=int, help="at most this many images per source (quick check)")
    add_output_options(e)
    e.set_defaults(func=cmd_eval_defaults)
    for task in ("classify", "segment"):
        what = "class folders (crack / no_crack)" if task == "classify" else "image/mask pair folders"
        e = eval_sub.add_parser(
            task,
            help=f"score a checkpoint or shipped model on {what}",
            description=f"Score a training checkpoint (or a model name with shipped weights) on {what}; "
            "prints a table (one row per folder) and optionally writes JSON.",
        )
        e.add_argument("--checkpoint", required=True, help="best.pt/last.pt of a run, or a registry model name")
        e.add_argument("--data", type=Path, nargs="+", required=True, help="dataset folder(s)")
        e.add_argument("--split", help="split subfolder, e.g. test (default: the folder itself)")
        e.add_argument("--json", type=Path, help="also write the reports as JSON here")
        e.add_argument("--threshold", type=float, help="decision threshold (default: the checkpoint's)")
        e.add_argument("--limit", type=int, help="at most this many images per folder (per class)")
        e.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
        if task == "classify":
            e.add_argument("--positive", nargs="+", default=["crack"], help="crack class folder names")
            e.add_argument("--negative", nargs="+", default=["no_crack"], help="no-crack class folder names")
            e.add_argument("--resize", type=int, help="resize images to this side first")
            e.add_argument("--batch-size", type=int, default=32)
        else:
            e.set_defaults(positive=["crack"], negative=["no_crack"], resize=None, batch_size=1)
        add_output_options(e)
        e.set_defaults(func=cmd_eval_model, task=task)
