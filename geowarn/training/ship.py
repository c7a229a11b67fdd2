"""Install trained weights into ``models/`` and record them in the weights manifest.

    python -m geowarn.training.ship --weights run/unet-s.pt --name unet-s [--eval eval.json]

Copies the weights, computes their sha256 and writes the manifest entry: file, sha256,
decision threshold (from the training log), training data and splits, and held-out metrics
(from ``geowarn eval defaults --json``) when given.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from geowarn.models.weights import MANIFEST_NAME, models_dir, read_manifest
from geowarn.provenance import sha256_file, write_json_atomic
from geowarn.training.datasets import BACKGROUND_GEOTIFFS

TRAINING_DATA = {
    "segment": {
        "train": "crack-seg/*/train (all 7 sources) + crack-free crops of geotiff/{"
        + ",".join(BACKGROUND_GEOTIFFS["train"])
        + "} and the first 80% of crack-cls/brickwork/no_crack",
        "selection": "crack-seg/{gaps384,shadowcrack,aiglern-trimm}/val (checkpoint and threshold)",
        "held_out": "crack-seg/*/test, crack-seg/{crack500,deepcrack}/val, geotiff/australia.tif",
    },
    "classify": {
        "train": "crops of crack-seg/*/train (crack / crack-free), first 80% of crack-cls/brickwork, "
        "crops of geotiff/{" + ",".join(BACKGROUND_GEOTIFFS["train"]) + "}",
        "selection": "crops of crack-seg/{gaps384,shadowcrack,aiglern-trimm}/val, last 20% of crack-cls/brickwork, "
        "geotiff/test_tiled.tif (threshold for the target recall)",
        "held_out": "geotiff/australia.tif",
    },
}


def ship(name: str, weights: Path, task: str, eval_report: dict[str, Any] | None) -> dict[str, Any]:
    """Copy ``weights`` into the models folder and upsert its manifest entry."""
    directory = models_dir()
    target = directory / f"{name}.pt"
    if weights.resolve() != target.resolve():
        shutil.copyfile(weights, target)
    train_log_path = weights.with_suffix(".train.json")
    train_log = json.loads(train_log_path.read_text()) if train_log_path.exists() else {}
    entry: dict[str, Any] = {
        "name": name,
        "task": task,
        "file": target.name,
        "sha256": sha256_file(target),
        "bytes": target.stat().st_size,
        "threshold": train_log.get("threshold", 0.5),
        "training_data": TRAINING_DATA[task],
        "training": {k: v for k, v in train_log.items() if k not in ("history", "threshold")},
        "metrics": {},
    }
    if eval_report:
        if task == "segment":
            entry["metrics"] = {
                "metric": eval_report["metric"],
                "per_source": {
                    s: {
                        "split": r["split"],
                        "images": r["images"],
                        "segmenter_f1_2px": r["segmenter"]["f1_2px"],
                        "cascade_f1_2px": r["cascade"]["f1_2px"],
                        "baseline_f1_2px": r["baseline"]["f1_2px"],
                    }
                    for s, r in eval_report["sources"].items()
                },
                "false_alarms": eval_report["false_alarms"],
            }
        else:
            entry["metrics"] = {"false_alarms": eval_report["false_alarms"]}
    manifest = read_manifest(directory)
    models = [m for m in manifest.get("models", []) if m.get("name") != name] + [entry]
    write_json_atomic(directory / MANIFEST_NAME, {"models": sorted(models, key=lambda m: m["name"])})
    return entry


def main(argv: list[str] | None = None) -> None:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--task", choices=["segment", "classify"], required=True)
    parser.add_argument("--eval", type=Path, help="JSON written by geowarn eval defaults --json")
    args = parser.parse_args(argv)
    report = json.loads(args.eval.read_text()) if args.eval else None
    entry = ship(args.name, args.weights, args.task, report)
    print(json.dumps({k: entry[k] for k in ("name", "file", "sha256", "threshold")}, indent=2))


if __name__ == "__main__":
    main()
