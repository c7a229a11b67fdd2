"""Install a ``geowarn train`` checkpoint as shipped weights and record it in the weights manifest.

    python -m geowarn.training.ship --checkpoint runs/unet-s/best.pt --name unet-s [--eval eval.json]
    python -m geowarn.training.ship --name unet-s --eval eval.json     # refresh the metrics only

Writes the checkpoint's weights (state dict only) to ``models/NAME.pt`` and the manifest entry:
file, sha256, the decision threshold picked on validation, training data, the run's settings
and validation figures, and held-out metrics (from ``geowarn eval defaults --json``) when given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from geowarn.errors import GeowarnError, ModelError
from geowarn.models.weights import MANIFEST_NAME, models_dir, read_manifest
from geowarn.provenance import sha256_file, write_json_atomic
from geowarn.training.checkpoint import read_checkpoint
from geowarn.training.datasets import BACKGROUND_GEOTIFFS

NATURAL_TRAIN = (
    "crack-free crops of the natural/no-crack train frames (the first 60 % in flight order; half under "
    "synthetic tree shadows) and natural crops with a real crack-seg train crack transplanted"
)
NATURAL_VAL = "the same from the natural/no-crack validation frames (the next 20 %) and the selection val cracks"
NATURAL_HELD_OUT = "natural/no-crack test frames (the last 20 %), natural/rock-fracture"
TRAINING_DATA = {
    "segment": {
        "train": "crack-seg/*/train (all sources) + crack-free crops (geowarn defaults-data) of geotiff/{"
        + ",".join(BACKGROUND_GEOTIFFS["train"])
        + "}, the first 80% of crack-cls/brickwork/no_crack and synthetic slope terrain",
        "selection": "crack-seg/{gaps384,shadowcrack,aiglern-trimm}/val (checkpoint and threshold)",
        "held_out": "crack-seg/*/test, crack-seg/{crack500,deepcrack,rockfrac-*}/val, geotiff/australia.tif, "
        + NATURAL_HELD_OUT,
    },
    "classify": {
        "train": "patches (geowarn defaults-data) of crack-seg/*/train (crack / crack-free), the first 80% of "
        "crack-cls/brickwork, geotiff/{" + ",".join(BACKGROUND_GEOTIFFS["train"]) + "}, synthetic slope terrain "
        "and, where natural/no-crack is present, " + NATURAL_TRAIN,
        "selection": "patches of crack-seg/{gaps384,shadowcrack,aiglern-trimm}/val, the last 20% of "
        "crack-cls/brickwork, geotiff/test_tiled.tif and " + NATURAL_VAL + " (checkpoint, and threshold for the "
        "target recall)",
        "held_out": "geotiff/australia.tif, " + NATURAL_HELD_OUT,
    },
}


#: The verifier's patches (``geowarn.training.verify_data``): the shipped segmenter's candidates.
VERIFY_DATA = {
    "train": "128-px patches centred on the shipped segmenter's candidates (geowarn.training.verify_data): "
    "natural/no-crack train frames with and without synthetic shadows, crack-seg train cracks transplanted "
    "onto them, crack-seg train images, crops of the train background rasters and brick walls, geotiff/"
    "OSBS_029.tif enlarged 2-4 times",
    "selection": "the same from the natural/no-crack validation frames, selection-split cracks and images, "
    "and geotiff/2018_SJER_3_252000_4107000_image_477.tif enlarged (checkpoint; the threshold per candidate "
    "by geowarn.training.verify_calibrate)",
    "held_out": "geotiff/australia.tif, " + NATURAL_HELD_OUT + ", crack-seg/*/test and the unused val splits",
}


def training_data(task: str, config: dict[str, Any]) -> dict[str, str]:
    """What a run of ``task`` trained and selected on (natural ground where its data roots hold it)."""
    roots = [str(r) for r in config.get("data", {}).get("roots", [])]
    if any(r.rstrip("/").endswith("verify-data") for r in roots):
        return dict(VERIFY_DATA)
    text = dict(TRAINING_DATA[task])
    if task == "segment" and any(r.rstrip("/").endswith("natural-ground") for r in roots):
        text["train"] += "; " + NATURAL_TRAIN
        text["selection"] += "; " + NATURAL_VAL
    return text


def training_record(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """What the manifest keeps of a run: settings, chosen epoch, its validation figures and the cost of reaching it.

    The checkpoint's history ends at the chosen epoch, so epochs and seconds count up to that checkpoint.
    """
    history = checkpoint.get("history", [])
    epoch = checkpoint.get("epoch")
    chosen: dict[str, Any] = next((row for row in history if row.get("epoch") == epoch), {})
    return {
        "command": f"geowarn train {checkpoint['task']} --config config/train/{config_name(checkpoint)}.yaml",
        "config": checkpoint.get("config", {}),
        "epoch": epoch,
        "epochs_to_checkpoint": len(history),
        "validation": {k: v for k, v in chosen.items() if k.startswith("val_")},
        "train_seconds_to_checkpoint": round(sum(float(row.get("seconds", 0.0)) for row in history), 1),
    }


def config_name(checkpoint: dict[str, Any]) -> str:
    """The committed config a run came from: named like its output folder (``runs/unet-s`` -> ``unet-s``)."""
    out = checkpoint.get("config", {}).get("out")
    return Path(str(out)).name if out else str(checkpoint["model"])


def ship(
    name: str, checkpoint_path: Path, eval_report: dict[str, Any] | None, threshold: float | None = None
) -> dict[str, Any]:
    """Write the checkpoint's weights into the models folder and upsert its manifest entry.

    ``threshold`` replaces the one the training run picked (e.g. one calibrated afterwards on
    validation data, as the verifier's is).
    """
    checkpoint = read_checkpoint(checkpoint_path)
    if checkpoint["model"] != name:
        raise ModelError(f"{checkpoint_path}: holds a {checkpoint['model']!r} model, not {name!r}; check --name")
    task = checkpoint["task"]
    directory = models_dir()
    target = directory / f"{name}.pt"
    torch.save({k: v.detach().contiguous() for k, v in checkpoint["state_dict"].items()}, target)
    entry: dict[str, Any] = {
        "name": name,
        "task": task,
        "file": target.name,
        "sha256": sha256_file(target),
        "bytes": target.stat().st_size,
        "threshold": float(threshold if threshold is not None else checkpoint.get("threshold", 0.5)),
        "training_data": training_data(task, checkpoint.get("config", {})),
        "training": training_record(checkpoint),
        "metrics": {},
    }
    if eval_report:
        entry["metrics"] = held_out_metrics(task, eval_report)
    _upsert(directory, entry)
    return entry


def held_out_metrics(task: str, eval_report: dict[str, Any]) -> dict[str, Any]:
    """What the manifest keeps of a ``geowarn eval defaults --json`` report for a model of ``task``."""
    natural: dict[str, Any] = {
        k: eval_report[k] for k in ("natural_false_alarms", "natural_transplants") if k in eval_report
    }
    if task != "segment":
        return {"false_alarms": eval_report["false_alarms"], **natural}
    return {
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
        **natural,
    }


def refresh_metrics(name: str, eval_report: dict[str, Any]) -> dict[str, Any]:
    """Replace the held-out metrics of the shipped ``name`` (weights unchanged)."""
    directory = models_dir()
    entry: dict[str, Any] | None = next(
        (m for m in read_manifest(directory).get("models", []) if m.get("name") == name), None
    )
    if entry is None:
        raise ModelError(f"{name!r} has no entry in {directory / MANIFEST_NAME}; ship it with --checkpoint first")
    entry["metrics"] = held_out_metrics(entry["task"], eval_report)
    _upsert(directory, entry)
    return entry


def _upsert(directory: Path, entry: dict[str, Any]) -> None:
    manifest = read_manifest(directory)
    models = [m for m in manifest.get("models", []) if m.get("name") != entry["name"]] + [entry]
    write_json_atomic(directory / MANIFEST_NAME, {"models": sorted(models, key=lambda m: m["name"])})


def main(argv: list[str] | None = None) -> None:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, help="best.pt of a geowarn train run (none: only --eval)")
    parser.add_argument("--name", required=True, help="registry name to ship it as (unet-s, tilecls-s, verify-s)")
    parser.add_argument("--eval", type=Path, help="JSON written by geowarn eval defaults --json")
    parser.add_argument("--threshold", type=float, help="decision threshold (default: the one the run picked)")
    args = parser.parse_args(argv)
    report = json.loads(args.eval.read_text()) if args.eval else None
    try:
        if args.checkpoint is not None:
            entry = ship(args.name, args.checkpoint, report, args.threshold)
        elif report is not None:
            entry = refresh_metrics(args.name, report)
        else:
            raise SystemExit("error: give --checkpoint (weights to ship) and/or --eval (held-out metrics)")
    except GeowarnError as exc:
        raise SystemExit(f"error: {exc}") from exc
    print(json.dumps({k: entry[k] for k in ("name", "file", "sha256", "threshold")}, indent=2))


if __name__ == "__main__":
    main()
