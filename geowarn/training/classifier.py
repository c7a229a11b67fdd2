"""Train the cascade's tile gate: crack / no-crack patches from real crack and background imagery.

Positives are crops of the segmentation pairs that contain crack pixels (plus cracked brick
patches); negatives are crops of crack-free real rasters and brick walls, and crack-free crops
of the segmentation images. The gate threshold is set on validation patches for a target
recall, because a missed tile is a missed crack while a false positive only costs time.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from geowarn.models.preprocess import model_input
from geowarn.models.registry import build_model, get_spec
from geowarn.training.augment import classification_augment
from geowarn.training.common import TrainConfig, config_from_args, save_run, setup_training_logs, training_parser
from geowarn.training.datasets import (
    background_images,
    brick_crack_images,
    crack_free_crops,
    discover_pairs,
    load_pairs,
    synthetic_backgrounds,
)
from geowarn.training.segmenter import SELECTION_SOURCES

log = logging.getLogger("geowarn.train")

Patch = NDArray[np.uint8]


@dataclass
class ClsTrainConfig(TrainConfig):
    """Settings of one gate training run (recorded next to the weights)."""

    model: str = "tilecls-s"
    steps: int = 2000
    batch_size: int = 64
    target_recall: float = 0.93


def crack_patches(
    pairs: list[tuple[Patch, Patch]], crop: int, rng: np.random.Generator, per_image: int = 2, min_crack_px: int = 30
) -> tuple[list[Patch], list[Patch]]:
    """(crack crops, crack-free crops) cut from segmentation pairs; images smaller than crop are padded."""
    positives: list[Patch] = []
    negatives: list[Patch] = []
    for image, mask in pairs:
        h, w = mask.shape
        ph, pw = max(0, crop - h), max(0, crop - w)
        if ph or pw:
            image = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect")
            mask = np.pad(mask, ((0, ph), (0, pw)), mode="reflect")
            h, w = mask.shape
        for _ in range(per_image):
            y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
            crack_px = int(mask[y : y + crop, x : x + crop].sum())
            margin = mask[max(0, y - 8) : y + crop + 8, max(0, x - 8) : x + crop + 8].sum()
            if crack_px >= min_crack_px:
                positives.append(np.ascontiguousarray(image[y : y + crop, x : x + crop]))
            elif margin == 0:
                negatives.append(np.ascontiguousarray(image[y : y + crop, x : x + crop]))
    return positives, negatives


def _random_crops(images: list[Patch], crop: int, rng: np.random.Generator, per_image: int) -> list[Patch]:
    padded = [
        np.pad(im, ((0, max(0, crop - im.shape[0])), (0, max(0, crop - im.shape[1])), (0, 0)), mode="reflect")
        for im in images
    ]
    return crack_free_crops(padded, crop, per_image, rng)


def patch_set(
    cfg: ClsTrainConfig, split: Literal["train", "val"], rng: np.random.Generator
) -> tuple[list[Patch], list[Patch]]:
    """(positives, negatives) for ``split``; val uses only held-out sources and rasters."""
    sources = None if split == "train" else SELECTION_SOURCES
    pairs = load_pairs(discover_pairs(cfg.data / "crack-seg", split, sources))
    pos, neg = crack_patches(pairs, cfg.crop, rng)
    pos += _random_crops(brick_crack_images(cfg.data, split), cfg.crop, rng, per_image=1)
    backgrounds = background_images(cfg.data, split)
    neg += _random_crops([b for b in backgrounds if min(b.shape[:2]) < 1024], cfg.crop, rng, per_image=2)
    big = [b for b in backgrounds if min(b.shape[:2]) >= 1000]
    neg += crack_free_crops(big, cfg.crop, per_image=300 if split == "train" else 150, rng=rng)
    if split == "train":
        neg += synthetic_backgrounds(cfg.synthetic_negatives, cfg.crop, rng)
    return pos, neg


@torch.inference_mode()
def scores(model: torch.nn.Module, patches: list[Patch], model_name: str, batch: int = 128) -> NDArray[np.float32]:
    """Crack probability of each patch."""
    model.eval()
    spec = get_spec(model_name)
    out = []
    for i in range(0, len(patches), batch):
        out.append(torch.sigmoid(model(model_input(np.stack(patches[i : i + batch]), spec))).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def threshold_for_recall(pos_scores: NDArray[np.float32], target_recall: float) -> float:
    """Largest threshold whose recall on ``pos_scores`` is at least ``target_recall``."""
    return float(np.quantile(pos_scores, 1.0 - target_recall))


def train(cfg: ClsTrainConfig) -> dict[str, object]:
    """Train the gate, pick its threshold on validation patches, save weights + JSON log."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train_pos, train_neg = patch_set(cfg, "train", rng)
    val_pos, val_neg = patch_set(cfg, "val", rng)
    log.info("train pos=%d neg=%d | val pos=%d neg=%d", len(train_pos), len(train_neg), len(val_pos), len(val_neg))
    spec = get_spec(cfg.model)
    model = build_model(cfg.model).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    augment = classification_augment()
    start = time.time()
    half = cfg.batch_size // 2
    for step in range(1, cfg.steps + 1):
        model.train()
        picks = [train_pos[int(i)] for i in rng.integers(0, len(train_pos), half)]
        picks += [train_neg[int(i)] for i in rng.integers(0, len(train_neg), cfg.batch_size - half)]
        x = torch.stack([augment(torch.from_numpy(p).permute(2, 0, 1)) for p in picks])
        y = torch.tensor([1.0] * half + [0.0] * (cfg.batch_size - half))
        loss = F.binary_cross_entropy_with_logits(model(model_input(x.permute(0, 2, 3, 1).numpy(), spec)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0:
            log.info("step=%d loss=%.4f elapsed_s=%.0f", step, loss.item(), time.time() - start)
    summary = {**gate_calibration(model, cfg, val_pos, val_neg), "train_seconds": time.time() - start}
    return save_run(cfg, model.state_dict(), summary)


def gate_calibration(
    model: torch.nn.Module, cfg: ClsTrainConfig, val_pos: list[Patch], val_neg: list[Patch]
) -> dict[str, object]:
    """Threshold for ``cfg.target_recall`` on validation positives, and what it rejects."""
    pos_s, neg_s = scores(model, val_pos, cfg.model), scores(model, val_neg, cfg.model)
    threshold = threshold_for_recall(pos_s, cfg.target_recall)
    return {
        "threshold": threshold,
        "target_recall": cfg.target_recall,
        "val_positives": len(val_pos),
        "val_negatives": len(val_neg),
        "val_recall_at_threshold": float((pos_s >= threshold).mean()),
        "val_negative_rejection_at_threshold": float((neg_s < threshold).mean()),
        "val_accuracy_at_0.5": float(((pos_s >= 0.5).sum() + (neg_s < 0.5).sum()) / (len(pos_s) + len(neg_s))),
    }


def recalibrate(cfg: ClsTrainConfig) -> dict[str, object]:
    """Re-pick the threshold of the trained weights at ``cfg.out`` for ``cfg.target_recall``.

    The validation patches are rebuilt exactly as in :func:`train` (same seed and order).
    """
    rng = np.random.default_rng(cfg.seed)
    patch_set(cfg, "train", rng)
    val_pos, val_neg = patch_set(cfg, "val", rng)
    model = build_model(cfg.model)
    model.load_state_dict(torch.load(cfg.out, map_location="cpu", weights_only=True))
    log_path = cfg.out.with_suffix(".train.json")
    summary: dict[str, object] = json.loads(log_path.read_text()) if log_path.exists() else {}
    summary.update(gate_calibration(model, cfg, val_pos, val_neg))
    log_path.write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m geowarn.training.classifier --data DIR --out FILE.pt``."""
    parser = training_parser(__doc__, "tilecls-s", 2000, synthetic_negatives=1500)
    parser.add_argument("--target-recall", type=float, default=0.93, help="tile recall the threshold keeps")
    parser.add_argument("--recalibrate", action="store_true", help="only re-pick the threshold of --out's weights")
    args = parser.parse_args(argv)
    setup_training_logs()
    cfg = config_from_args(ClsTrainConfig, args)
    print(json.dumps(recalibrate(cfg) if args.recalibrate else train(cfg), indent=2))


if __name__ == "__main__":
    main()
