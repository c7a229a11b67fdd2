"""Train a crack segmenter on image/mask folders with crack-free backgrounds mixed in."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import NDArray

from geowarn.metrics import ToleranceCounts, tolerance_counts
from geowarn.models.preprocess import model_input
from geowarn.models.registry import build_model, get_spec
from geowarn.training.augment import segmentation_augment, to_tensors
from geowarn.training.common import TrainConfig, config_from_args, save_run, setup_training_logs, training_parser
from geowarn.training.datasets import (
    background_images,
    crack_free_crops,
    discover_pairs,
    load_pairs,
    synthetic_backgrounds,
)
from geowarn.training.losses import dice_bce_loss

log = logging.getLogger("geowarn.train")

#: Sources whose val split selects checkpoints and thresholds; others' val splits stay unseen.
SELECTION_SOURCES = ("gaps384", "shadowcrack", "aiglern-trimm")


@dataclass
class SegTrainConfig(TrainConfig):
    """Settings of one segmenter training run (recorded next to the weights)."""

    model: str = "unet-s"
    steps: int = 5000
    background_per_batch: int = 3
    synthetic_negatives: int = 500
    eval_every: int = 500
    selection_sources: tuple[str, ...] = field(default=SELECTION_SOURCES)


def _backgrounds(cfg: SegTrainConfig, rng: np.random.Generator) -> list[NDArray[np.uint8]]:
    images = background_images(cfg.data, "train")
    crops = crack_free_crops(images, cfg.crop, per_image=4, rng=rng)
    big = [im for im in images if min(im.shape[:2]) >= 1024]
    crops += crack_free_crops(big, cfg.crop, per_image=200, rng=rng)
    return crops + synthetic_backgrounds(cfg.synthetic_negatives, cfg.crop, rng)


def full_image_logits(
    model: torch.nn.Module, image: NDArray[np.uint8], multiple: int, spec_name: str, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """Crack logits (H x W, on ``device``) for a whole image, reflect-padded to the model's size multiple."""
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    padded = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    logits: torch.Tensor = model(model_input(padded[None], get_spec(spec_name), device))
    return logits[0, 0, :h, :w]


@torch.inference_mode()
def predict_full(
    model: torch.nn.Module, image: NDArray[np.uint8], multiple: int, spec_name: str
) -> NDArray[np.float32]:
    """Crack probability for a whole image, reflect-padded to the model's size multiple."""
    return torch.sigmoid(full_image_logits(model, image, multiple, spec_name)).numpy()


def evaluate(
    model: torch.nn.Module,
    data: list[tuple[NDArray[np.uint8], NDArray[np.uint8]]],
    spec_name: str,
    thresholds: tuple[float, ...] = (0.5,),
    tolerance: float = 2.0,
) -> dict[float, ToleranceCounts]:
    """Tolerant counts per threshold over ``data``."""
    model.eval()
    multiple = get_spec(spec_name).size_multiple
    counts = {t: ToleranceCounts() for t in thresholds}
    for image, mask in data:
        prob = predict_full(model, image, multiple, spec_name)
        for t in thresholds:
            counts[t] += tolerance_counts(prob >= t, mask.astype(bool), tolerance)
    return counts


def train(cfg: SegTrainConfig) -> dict[str, object]:
    """Train, keep the best checkpoint on the selection val splits, save weights + JSON log."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    seg_root = cfg.data / "crack-seg"
    train_data = load_pairs(discover_pairs(seg_root, "train"))
    val_data = load_pairs(discover_pairs(seg_root, "val", cfg.selection_sources))
    backgrounds = _backgrounds(cfg, rng)
    log.info("train pairs=%d val pairs=%d backgrounds=%d", len(train_data), len(val_data), len(backgrounds))

    model = build_model(cfg.model).to(memory_format=torch.channels_last)
    spec = get_spec(cfg.model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    augment = segmentation_augment(cfg.crop)
    history: list[dict[str, float]] = []
    best_f1, best_state = -1.0, None
    start = time.time()
    n_crack = cfg.batch_size - cfg.background_per_batch
    for step in range(1, cfg.steps + 1):
        model.train()
        images, masks = [], []
        for idx in rng.integers(0, len(train_data), n_crack):
            img, msk = augment(*to_tensors(*train_data[int(idx)]))
            images.append(img)
            masks.append(msk)
        for idx in rng.integers(0, len(backgrounds), cfg.background_per_batch):
            bg = backgrounds[int(idx)]
            img, msk = augment(*to_tensors(bg, np.zeros(bg.shape[:2], np.uint8)))
            images.append(img)
            masks.append(msk)
        x = model_input(torch.stack(images).permute(0, 2, 3, 1).numpy(), spec)
        y = torch.stack(masks).float()
        loss = dice_bce_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            counts = evaluate(model, val_data, cfg.model)[0.5]
            row = {
                "step": step,
                "loss": loss.item(),
                "val_f1_2px": counts.f1,
                "val_precision": counts.precision,
                "val_recall": counts.recall,
                "elapsed_s": time.time() - start,
            }
            history.append(row)
            log.info(
                "step=%d loss=%.4f val_f1_2px=%.4f elapsed_s=%.0f",
                step,
                loss.item(),
                counts.f1,
                row["elapsed_s"],
            )
            if counts.f1 > best_f1:
                best_f1 = counts.f1
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                cfg.out.parent.mkdir(parents=True, exist_ok=True)
                torch.save(best_state, cfg.out.with_suffix(".best.pt"))  # survives an interrupted run
    assert best_state is not None
    model.load_state_dict(best_state)
    grid = tuple(round(t, 2) for t in np.arange(0.2, 0.85, 0.05))
    sweep = evaluate(model, val_data, cfg.model, thresholds=grid)
    threshold = max(grid, key=lambda t: sweep[t].f1)
    summary: dict[str, object] = {
        "best_val_f1_2px_at_0.5": best_f1,
        "threshold": threshold,
        "val_f1_2px_at_threshold": sweep[threshold].f1,
        "history": history,
        "train_seconds": time.time() - start,
    }
    return save_run(cfg, best_state, summary)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m geowarn.training.segmenter --data DIR --out FILE.pt``."""
    parser = training_parser(__doc__, "unet-s", 5000, synthetic_negatives=500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--background-per-batch", type=int, default=3, help="crack-free crops in each batch")
    args = parser.parse_args(argv)
    setup_training_logs()
    cfg = config_from_args(SegTrainConfig, args)
    print(json.dumps({k: v for k, v in train(cfg).items() if k != "history"}, indent=2))


if __name__ == "__main__":
    main()
