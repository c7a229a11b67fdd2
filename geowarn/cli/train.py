"""``geowarn train classify|segment``, ``geowarn patches`` and ``geowarn defaults-data``: training the models."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from geowarn.cli.common import add_output_options, setup_logs

_TRAIN_EPILOG = """\
examples:
  geowarn train classify --config config/train/classify-lenet5.yaml --epochs 5 --out runs/lenet5
  geowarn train segment --config config/train/segment-unet.yaml --set augment.crop=128 --device cuda
  geowarn train classify --resume runs/lenet5/last.pt --epochs 10
  geowarn train classify --config config/train/transfer-lenet5-brickwork.yaml --init-from runs/lenet5/best.pt

Settings come from --config (YAML; see config/train/ for every key), then --set KEY.SUB=VALUE,
then the flags below. --resume continues a run from its checkpoint (its settings, unless
--config is given) and may extend --epochs.
"""


def cmd_train(args: argparse.Namespace) -> int:
    """Train a classifier or segmenter for epochs; print the run summary."""
    from geowarn.settings import read_mapping
    from geowarn.training.checkpoint import read_checkpoint
    from geowarn.training.config import FLAG_KEYS, build_config
    from geowarn.training.loop import fit
    from geowarn.training.runlog import format_summary

    setup_logs(args)
    flags: dict[str, Any] = {k: getattr(args, k) for k in FLAG_KEYS}
    if flags["init_from"] is not None:
        flags["init_from"] = str(flags["init_from"])
    resume = _resume_path(args.resume) if args.resume else None
    if args.config is not None:
        base, origin = read_mapping(args.config), str(args.config)
    elif resume is not None:
        base, origin = dict(read_checkpoint(resume)["config"]), f"{resume} (saved settings)"
    else:
        base, origin = {}, "command line"
    cfg = build_config(args.task, base, origin=origin, sets=args.set, flags=flags)
    started = time.time()
    summary = fit(cfg, resume=resume, progress=args.progress)
    summary["total_seconds"] = time.time() - started
    print(format_summary(summary))
    return 0


def _resume_path(path: Path) -> Path:
    return path / "last.pt" if path.is_dir() else path


def cmd_patches(args: argparse.Namespace) -> int:
    """Cut a crack / no-crack patch set from segmentation pairs."""
    from geowarn.training.patches import PatchOptions, make_patches, pair_folder_samples

    setup_logs(args)
    samples = pair_folder_samples(args.data, None if args.split in ("", "none") else args.split, args.limit)
    opts = PatchOptions(
        size=args.size,
        stride=args.stride,
        center=args.center,
        min_crack_px=args.min_crack_px,
        margin=args.margin,
        balance=not args.no_balance,
        max_per_class=args.max_per_class,
        geotiffs=tuple(args.geotiff or ()),
        geotiff_windows=args.geotiff_windows,
        seed=args.seed,
    )
    manifest = make_patches(samples, args.out, opts, force=args.force)
    counts = manifest["counts"]
    print(
        f"wrote {counts['crack']} crack and {counts['no_crack']} no_crack patches of {args.size} px from "
        f"{len(samples)} pairs to {args.out} (candidates: {counts['candidates_crack']} crack, "
        f"{counts['candidates_no_crack']} no_crack); manifest {args.out / 'patches.json'}"
    )
    return 0


def cmd_defaults_data(args: argparse.Namespace) -> int:
    """Write the training folders of the shipped cascade."""
    from geowarn.training.defaults_data import MANIFEST, DefaultsDataOptions, write_defaults_data

    setup_logs(args)
    opts = DefaultsDataOptions(crop=args.crop, segment_backgrounds=args.segment_backgrounds, seed=args.seed)
    counts = write_defaults_data(args.data, args.out, opts, force=args.force)["counts"]
    print(
        f"wrote {counts['segment_background']} crack-free segmenter backgrounds and gate patches "
        f"(train {counts['gate_train_crack']} crack / {counts['gate_train_no_crack']} no_crack, "
        f"val {counts['gate_val_crack']} / {counts['gate_val_no_crack']}) to {args.out}; manifest {args.out / MANIFEST}"
    )
    return 0


def _train_parser(sub: Any, task: str) -> None:
    what = "a crack / no-crack classifier" if task == "classify" else "a crack segmenter"
    p = sub.add_parser(
        task,
        help=f"train {what} on folders of images",
        description=f"Train {what} epoch by epoch; writes last.pt, best.pt, metrics.csv/json, "
        "curves.png, splits.json and train.log into --out and prints a summary.",
        epilog=_TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path, help="YAML settings (see config/train/)")
    p.add_argument("--set", action="append", metavar="KEY.SUB=VALUE", help="override one setting (repeatable)")
    p.add_argument("--model", help="registry model name (geowarn models)")
    p.add_argument("--data", type=Path, nargs="+", help="dataset folder(s) (data.roots)")
    p.add_argument("--out", type=Path, help="run folder (default runs/train)")
    p.add_argument("--epochs", type=int, help="number of epochs (train.epochs)")
    p.add_argument("--batch-size", type=int, help="batch size (train.batch_size)")
    p.add_argument("--lr", type=float, help="learning rate (optim.lr)")
    p.add_argument("--optimizer", choices=["sgd", "adamw"], help="optimiser (optim.name)")
    p.add_argument("--init-from", help="pretrained checkpoint or model name with shipped weights")
    p.add_argument("--strategy", choices=["finetune", "freeze-backbone", "merge"], help="transfer strategy")
    p.add_argument("--resume", type=Path, help="continue from this last.pt (or run folder)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where to train (default auto)")
    p.add_argument("--amp", choices=["auto", "off", "bf16", "fp16"], help="mixed precision (default auto)")
    p.add_argument("--seed", type=int, help="random seed (train.seed)")
    p.add_argument("--workers", type=int, help="DataLoader worker processes (train.num_workers)")
    add_output_options(p)
    p.set_defaults(func=cmd_train, task=task)


def add_commands(sub: Any) -> None:
    """Register ``train classify|segment`` and ``patches`` on the top-level subparsers."""
    p = sub.add_parser("train", help="train a classifier or segmenter (epochs, checkpoints, transfer learning)")
    train_sub = p.add_subparsers(dest="train_command", required=True, metavar="TASK")
    for task in ("classify", "segment"):
        _train_parser(train_sub, task)

    p = sub.add_parser(
        "patches",
        help="cut a crack / no-crack patch set from image/mask pairs",
        description="Grid windows of image/mask pairs: crack patches have crack pixels in their centre, "
        "no-crack patches have none within --margin px. Writes OUT/crack/*.png, OUT/no_crack/*.png and "
        "OUT/patches.json (source file, window, seed).",
    )
    p.add_argument("--data", type=Path, nargs="+", required=True, help="pair folder(s) (images/ + masks/)")
    p.add_argument("--split", default="none", help="split subfolder of each folder (default: the folder itself)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--size", type=int, default=64, help="patch side in px (default 64)")
    p.add_argument("--stride", type=int, help="window stride in px (default size/2)")
    p.add_argument("--center", type=float, default=0.5, help="centre region side as a share of the patch")
    p.add_argument("--min-crack-px", type=int, default=10, help="crack pixels needed in the centre region")
    p.add_argument("--margin", type=int, default=8, help="no-crack patches have no crack within this many px")
    p.add_argument("--no-balance", action="store_true", help="keep every candidate instead of equal counts")
    p.add_argument("--max-per-class", type=int, help="cap on patches per class")
    p.add_argument("--geotiff", type=Path, action="append", help="crack-free GeoTIFF for extra negatives")
    p.add_argument("--geotiff-windows", type=int, default=50, help="random windows tried per GeoTIFF")
    p.add_argument("--limit", type=int, help="at most this many pairs per folder")
    p.add_argument("--seed", type=int, default=0, help="selection seed")
    p.add_argument("--force", action="store_true", help="replace an existing patch set in --out")
    add_output_options(p)
    p.set_defaults(func=cmd_patches)

    p = sub.add_parser(
        "defaults-data",
        help="write the training folders of the gate (tilecls-s) and of unet-s-epochs.yaml",
        description="Seeded crack-free crops (OUT/segment-background/{train,val}) and gate patches "
        "(OUT/gate/{train,val}/{crack,no_crack}) cut from --data, for config/train/tilecls-s.yaml and "
        "config/train/unet-s-epochs.yaml. Held-out test data is never read.",
    )
    p.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    p.add_argument("--out", type=Path, default=Path("runs/defaults-data"), help="output folder")
    p.add_argument("--crop", type=int, default=128, help="gate patch side in px (default 128)")
    p.add_argument("--segment-backgrounds", type=int, default=1220, help="crack-free segmenter crops (default 1220)")
    p.add_argument("--seed", type=int, default=4, help="selection seed (default 4)")
    p.add_argument("--force", action="store_true", help="replace an existing --out")
    add_output_options(p)
    p.set_defaults(func=cmd_defaults_data)
