"""The epoch trainer behind ``geowarn train classify|segment``.

Each epoch: seeded shuffling and augmentation, optional mixed precision, a scheduler step per
batch, validation (loss, scores, decision threshold), ``last.pt`` and (when the monitored
metric improves) ``best.pt``, then metrics.csv/json and curves.png. With ``train.ema_decay`` an
exponential moving average of the weights is updated after every step; it is what validates and
what the checkpoints hold as ``state_dict`` (the raw weights travel as ``train_state_dict``, and
the count of averaged steps as ``ema_n_averaged``, for resuming), which damps the
epoch-to-epoch swings of the checkpoint choice. Every epoch reseeds the generators from
(seed, epoch), so a resumed run repeats exactly what an uninterrupted one does. With
``data.sampler: draws`` batches are drawn with replacement instead (:mod:`geowarn.training.draws`).
"""

from __future__ import annotations

import logging
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, WeightedRandomSampler
from tqdm import tqdm

from geowarn.device import pick_device, pick_precision
from geowarn.errors import ConfigError
from geowarn.logs import LogfmtFormatter, log_event
from geowarn.metrics.classification import classification_report
from geowarn.models.registry import ModelSpec, build_model, get_spec
from geowarn.provenance import write_json_atomic
from geowarn.training.checkpoint import read_checkpoint, rng_state, save_checkpoint, set_rng_state
from geowarn.training.config import RunConfig, ScheduleConfig
from geowarn.training.draws import Draws, build_draws, draws_transform, model_batch
from geowarn.training.folders import SampleDataset, Splits, collate, collect_splits, split_record
from geowarn.training.losses import LossFn, build_loss
from geowarn.training.runlog import plot_curves, write_metrics
from geowarn.training.transfer import apply_strategy, init_from, set_train_mode
from geowarn.training.transforms import build_transform
from geowarn.training.validation import best_f1_threshold, classify_scores, segment_scores, threshold_for_recall

log = logging.getLogger("geowarn.train")

#: Validation columns each task writes (besides train_loss, val_loss, lr, seconds).
VAL_COLUMNS = {
    "classify": (
        "val_accuracy",
        "val_R",
        "val_MA",
        "val_P",
        "val_FA",
        "val_F1",
        "val_F1_at_threshold",
        "val_R_at_threshold",
        "val_accuracy_at_threshold",
        "val_negatives_rejected_at_threshold",
    ),
    "segment": (
        "val_precision_0px",
        "val_recall_0px",
        "val_f1_0px",
        "val_precision_tol",
        "val_recall_tol",
        "val_f1_tol",
        "val_iou",
        "val_ods_f1",
        "val_ois_f1",
        "val_background_fp_rate",
    ),
}
DEFAULT_MONITOR = {"classify": "val_F1", "segment": "val_f1_tol"}
_LOWER_IS_BETTER = ("val_MA", "val_FA", "val_background_fp_rate")


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """The generator seed of one epoch."""
    return (seed * 1_000_003 + epoch) % 2**63


def _worker_init(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def lr_factor(step: int, total: int, per_epoch: int, s: ScheduleConfig) -> float:
    """Learning-rate multiplier after ``step`` optimiser steps of ``total``."""
    if s.name == "onecycle":
        up = max(1, round(total * s.onecycle_pct))
        if step < up:
            low = 1.0 / s.onecycle_div
            return low + (1 - low) * (1 - math.cos(math.pi * step / up)) / 2
        progress = min(1.0, (step - up) / max(1, total - up))
        return s.min_lr_ratio + (1 - s.min_lr_ratio) * (1 + math.cos(math.pi * progress)) / 2
    factor = 1.0
    if s.name == "step":
        factor = s.gamma ** (step // (s.step_epochs * per_epoch))
    elif s.name == "cosine":
        progress = min(1.0, step / max(1, total))
        factor = s.min_lr_ratio + (1 - s.min_lr_ratio) * (1 + math.cos(math.pi * progress)) / 2
    warmup = s.warmup_epochs * per_epoch
    return factor * min(1.0, (step + 1) / warmup) if warmup > 0 else factor


def make_scheduler(
    opt: torch.optim.Optimizer, s: ScheduleConfig, total: int, per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """The schedule, stepped every batch; ``cycle_momentum`` uses torch's OneCycleLR (with its defaults)."""
    if s.cycle_momentum:
        peak = [group["lr"] for group in opt.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=peak, total_steps=total, pct_start=s.onecycle_pct, div_factor=s.onecycle_div
        )
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_factor(step, total, per_epoch, s))


def make_optimizer(params: list[nn.Parameter], cfg: RunConfig) -> torch.optim.Optimizer:
    """SGD with momentum (the papers' default) or AdamW."""
    o = cfg.optim
    if o.name == "sgd":
        return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, nesterov=o.nesterov, weight_decay=o.weight_decay)
    return torch.optim.AdamW(params, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay)


def resolve_pos_weight(cfg: RunConfig, train: SampleDataset) -> float | None:
    """``loss.pos_weight``; ``auto`` = negatives / positives (images, or pixels for segmentation)."""
    if cfg.loss.pos_weight != "auto":
        return cfg.loss.pos_weight
    if cfg.task == "classify":
        pos = sum(s.label == 1 for s in train.samples)
        neg = len(train.samples) - pos
    else:
        pos = neg = 0
        for i in range(len(train)):
            mask = train.raw(i)[1]
            assert mask is not None
            crack = int(mask.sum())
            pos, neg = pos + crack, neg + mask.size - crack
    return neg / pos if pos else None


def monitor_settings(cfg: RunConfig) -> tuple[str, bool]:
    """(monitored column, whether higher is better)."""
    name = cfg.train.monitor or DEFAULT_MONITOR[cfg.task]
    known = ("train_loss", "val_loss", *VAL_COLUMNS[cfg.task])
    if name not in known:
        raise ConfigError(f"train.monitor={name!r} is not a {cfg.task} metric; choose one of {', '.join(known)}")
    mode = cfg.train.monitor_mode or ("min" if "loss" in name or name in _LOWER_IS_BETTER else "max")
    return name, mode == "max"


class _ParentAtItsLevel(logging.Handler):
    """Pass records on to the ``geowarn`` logger only at or above its own level (stderr verbosity)."""

    def emit(self, record: logging.LogRecord) -> None:
        parent = logging.getLogger("geowarn")
        if record.levelno >= parent.getEffectiveLevel():
            parent.handle(record)


@contextmanager
def _file_log(path: Path) -> Iterator[None]:
    """Info lines to ``path`` whatever the console verbosity (``-q`` keeps stderr quiet)."""
    handler = logging.FileHandler(path)
    handler.setFormatter(LogfmtFormatter())
    forward = _ParentAtItsLevel()
    saved = log.level, log.propagate
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(handler)
    log.addHandler(forward)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.removeHandler(forward)
        log.setLevel(saved[0])
        log.propagate = saved[1]
        handler.close()


@contextmanager
def _determinism(enabled: bool) -> Iterator[None]:
    previous = torch.are_deterministic_algorithms_enabled()
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


@dataclass
class Trainer:
    """Everything one run needs: settings, data, model, loss and device."""

    cfg: RunConfig
    spec: ModelSpec
    model: nn.Module
    splits: Splits
    train_set: SampleDataset
    val_set: SampleDataset
    loss_fn: LossFn
    device: torch.device
    progress: bool
    ema: AveragedModel | None = None
    draws: Draws | None = None

    @property
    def kept_model(self) -> nn.Module:
        """The weights that validate and are saved: the moving average when there is one."""
        return self.ema.module if self.ema is not None else self.model

    def validate(self) -> tuple[dict[str, Any], float]:
        """Validation columns and the decision threshold picked on them."""
        select = self.cfg.train.select_threshold
        if self.cfg.task == "classify":
            labels, probs, loss = classify_scores(
                self.kept_model, self.val_set, self.device, self.cfg.train.batch_size, self.loss_fn
            )
            report = classification_report(labels, probs, 0.5)
            threshold = self._classify_threshold(labels, probs) if select else 0.5
            at_threshold = classification_report(labels, probs, threshold)
            row = {f"val_{k}": report[k] for k in ("accuracy", "R", "MA", "P", "FA", "F1")}
            row |= {f"val_{k}_at_threshold": at_threshold[k] for k in ("F1", "R", "accuracy")}
            tn, fp = at_threshold["confusion"]["tn"], at_threshold["confusion"]["fp"]
            row["val_negatives_rejected_at_threshold"] = tn / (tn + fp) if tn + fp else None
        else:
            scorer, loss = segment_scores(self.kept_model, self.spec, self.val_set, self.device, 0.5, self.loss_fn)
            report = scorer.report()
            threshold = float(report["ods_threshold"]) if select else 0.5
            row = {c: report[c.removeprefix("val_")] for c in VAL_COLUMNS["segment"]}
        return {"val_loss": loss, **row, "threshold": threshold}, threshold

    def _classify_threshold(self, labels: NDArray[np.bool_], probs: NDArray[np.float64]) -> float:
        """Best-F1 threshold, or the highest keeping ``train.threshold_recall`` of the positives."""
        target = self.cfg.train.threshold_recall
        return best_f1_threshold(labels, probs) if target is None else threshold_for_recall(probs[labels], target)

    @property
    def batches_per_epoch(self) -> int:
        """Optimiser steps per epoch."""
        batch = self.cfg.train.batch_size
        if self.draws is not None:
            return self.cfg.train.steps_per_epoch or batches_per_epoch(len(self.draws.dataset), batch)
        return batches_per_epoch(len(self.train_set), batch)

    def _loader(self, generator: torch.Generator) -> DataLoader[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch's batches: seeded shuffling (or class-balanced draws), or ``draws``."""
        batch = self.cfg.train.batch_size
        common: dict[str, Any] = {
            "num_workers": self.cfg.train.num_workers,
            "collate_fn": collate,
            "generator": generator,
            "worker_init_fn": _worker_init,
            "pin_memory": self.device.type == "cuda",
        }
        if self.draws is not None:
            draws = self.draws.sampler(batch, self.batches_per_epoch)
            return DataLoader(self.draws.dataset, batch_sampler=draws, **common)
        sampler = balanced_sampler(self.train_set, generator) if self.cfg.data.balance_classes else None
        return DataLoader(
            self.train_set,
            batch_size=batch,
            shuffle=sampler is None,
            sampler=sampler,
            drop_last=len(self.train_set) % batch == 1 and len(self.train_set) > 1,  # see batches_per_epoch
            **common,
        )

    def train_epoch(self, epoch: int, opt: torch.optim.Optimizer, sched: Any, scaler: Any) -> float:
        """One pass over the (seeded, shuffled, augmented) training set, or one epoch of draws; the mean loss."""
        seed = epoch_seed(self.cfg.train.seed, epoch)
        if self.draws is None:
            seed_everything(seed)  # draws keep their generators running from the start (see draws)
        loader = self._loader(torch.Generator().manual_seed(seed))
        amp_dtype = pick_precision(self.device, self.cfg.train.amp, "train.amp").dtype
        set_train_mode(self.model, self.spec, self.cfg.transfer.strategy)
        params = [p for p in self.model.parameters() if p.requires_grad]
        total, count = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch}/{self.cfg.train.epochs}", disable=not self.progress, leave=False)
        for x, y in bar:
            if self.draws is not None:
                x = model_batch(x, self.spec, self.device)
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            with torch.autocast(self.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = self.model(x)
            loss = self.loss_fn(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if self.cfg.optim.grad_clip:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(params, self.cfg.optim.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            total += float(loss.detach()) * len(y)
            count += len(y)
            bar.set_postfix(loss=f"{total / count:.4f}")
        return total / max(count, 1)


def balanced_sampler(dataset: SampleDataset, generator: torch.Generator) -> WeightedRandomSampler:
    """Draw an epoch's worth of samples with replacement, each class equally often (classifiers)."""
    labels = np.array([s.label or 0 for s in dataset.samples])
    counts = np.bincount(labels, minlength=2)
    weights = 1.0 / counts[labels]
    return WeightedRandomSampler(weights.tolist(), num_samples=len(labels), replacement=True, generator=generator)


def _check_crop(cfg: RunConfig, spec: ModelSpec) -> None:
    """Segmentation batches need one size that the model accepts."""
    if cfg.task != "segment" or spec.input_size:
        return
    side = cfg.augment.crop or cfg.augment.resize
    if side is None or side % spec.size_multiple:
        raise ConfigError(
            f"augment.crop={cfg.augment.crop!r}: segmentation training needs a crop (or resize) side that is a "
            f"multiple of {spec.size_multiple} for {spec.name!r}, e.g. --set augment.crop={spec.size_multiple * 8}"
        )


def build_trainer(cfg: RunConfig, progress: bool, initialise: bool = True) -> Trainer:
    """Datasets, model (with ``transfer.init_from`` weights when ``initialise``), loss and device."""
    spec = get_spec(cfg.model.name)
    _check_crop(cfg, spec)
    splits = collect_splits(cfg.data, cfg.task)
    drawing = cfg.data.sampler == "draws"
    train_transform = draws_transform(cfg.augment) if drawing else build_transform(cfg.augment, spec, cfg.task, True)
    train_set = SampleDataset(splits.train_all, train_transform, cfg.data.cache)
    val_set = SampleDataset(splits.val, build_transform(cfg.augment, spec, cfg.task, False), cfg.data.cache)
    draws = build_draws(cfg, spec, train_set) if drawing else None
    seed_everything(cfg.train.seed)
    model = build_model(cfg.model.name, **cfg.model.options)
    if drawing:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if cfg.transfer.init_from and initialise:
        report = init_from(model, spec, cfg.transfer.init_from)
        level = logging.WARNING if len(report.loaded) < len(report.skipped) else logging.INFO
        log_event(log, report.summary(), level, loaded=len(report.loaded), skipped=len(report.skipped))
    loss_fn = build_loss(cfg.loss, cfg.loss_name, resolve_pos_weight(cfg, train_set))
    device = pick_device(cfg.train.device, "train.device")
    model = model.to(device)
    decay = cfg.train.ema_decay
    ema = None if decay is None else AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    return Trainer(cfg, spec, model, splits, train_set, val_set, loss_fn, device, progress, ema, draws)


def _improved(value: float | None, best: float | None, higher: bool, min_delta: float) -> bool:
    if value is None:
        return False
    if best is None:
        return True
    return value > best + min_delta if higher else value < best - min_delta


def _patience_spent(patience: int | None, epoch: int, best: dict[str, Any]) -> bool:
    """Whether ``patience`` epochs have passed without improvement (early stopping)."""
    return bool(patience) and epoch > 0 and epoch - (best["epoch"] or 0) >= (patience or 0)


def batches_per_epoch(n: int, batch: int) -> int:
    """Optimiser steps per epoch (a last batch of one sample is dropped: BatchNorm needs 2+)."""
    return max(1, n // batch + (n % batch > 1))


def fit(cfg: RunConfig, resume: Path | None = None, progress: bool | None = None) -> dict[str, Any]:
    """Train ``cfg`` (continuing ``resume`` when given); returns the run summary."""
    monitor, higher = monitor_settings(cfg)
    cfg.out.mkdir(parents=True, exist_ok=True)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    show = sys.stderr.isatty() if progress is None else progress
    with _file_log(cfg.out / "train.log"), _determinism(cfg.train.deterministic):
        trainer = build_trainer(cfg, show, initialise=resume is None)
        return _fit(trainer, monitor, higher, resume)


def _check_monitor_data(t: Trainer, monitor: str) -> None:
    """Monitoring a false-alarm rate needs crack-free validation images; without any, stop before training."""
    if monitor != "val_background_fp_rate":
        return
    masks = (t.val_set.raw(i)[1] for i in range(len(t.val_set)))
    if not any(mask is not None and not mask.any() for mask in masks):
        raise ConfigError(
            f"train.monitor={monitor}: the validation folders hold no crack-free image (empty mask); "
            "add one to data.val_roots (e.g. runs/defaults-data/segment-background) or monitor val_f1_tol"
        )


def _check_schedule_length(resume: Path, cfg: RunConfig, saved: dict[str, Any], per_epoch: int) -> None:
    """A resumed run must keep the length of a torch OneCycleLR schedule, which counts its steps."""
    trained = saved.get("total_steps")
    if not cfg.schedule.cycle_momentum or trained is None or trained == per_epoch * cfg.train.epochs:
        return
    raise ConfigError(
        f"{resume}: its schedule (schedule.cycle_momentum) was set for {trained} steps and cannot be stretched "
        f"to train.epochs={cfg.train.epochs}; resume with train.epochs={trained // per_epoch}"
    )


def _fit(t: Trainer, monitor: str, higher: bool, resume: Path | None) -> dict[str, Any]:
    cfg, out = t.cfg, t.cfg.out
    _check_monitor_data(t, monitor)
    write_json_atomic(out / "splits.json", split_record(t.splits))
    trainable = apply_strategy(t.model, t.spec, cfg.transfer.strategy)
    opt = make_optimizer(trainable, cfg)
    use_scaler = pick_precision(t.device, cfg.train.amp, "train.amp").scale_gradients
    scaler = torch.amp.GradScaler(t.device.type, enabled=use_scaler)
    per_epoch = t.batches_per_epoch
    sched = make_scheduler(opt, cfg.schedule, per_epoch * cfg.train.epochs, per_epoch)
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"epoch": None, "value": None, "threshold": 0.5}
    start_epoch = 1
    if resume is not None:
        ckpt = read_checkpoint(resume, t.device)
        t.model.load_state_dict(ckpt.get("train_state_dict", ckpt["state_dict"]))
        if t.ema is not None:
            if "ema_n_averaged" not in ckpt:
                raise ConfigError(f"{resume}: saved without train.ema_decay; resume it with the same config")
            t.ema.module.load_state_dict(ckpt["state_dict"])
            t.ema.n_averaged.fill_(int(ckpt["ema_n_averaged"]))
        if t.draws is not None:
            if "draws_rng" not in ckpt:
                raise ConfigError(f"{resume}: saved without data.sampler draws; resume it with the same config")
            t.draws.restore(ckpt["draws_rng"])
        opt.load_state_dict(ckpt["optimizer"])
        _check_schedule_length(resume, cfg, ckpt["scheduler"], per_epoch)
        sched.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"])
        history, best, start_epoch = list(ckpt["history"]), dict(ckpt["best"]), int(ckpt["epoch"]) + 1
        log_event(log, "resuming", checkpoint=str(resume), epoch=start_epoch)
    options = {**get_spec(cfg.model.name).options, **cfg.model.options}
    meta = {"model": cfg.model.name, "options": options, "task": cfg.task, "config": cfg.to_json_dict()}
    log_event(
        log,
        "training",
        model=cfg.model.name,
        train=len(t.train_set),
        merged=len(t.splits.merged),
        val=len(t.val_set),
        device=str(t.device),
        epochs=cfg.train.epochs,
    )
    patience = cfg.train.early_stopping
    epoch = start_epoch - 1
    stopped = _patience_spent(patience, epoch, best)
    wall = time.time()
    while not stopped and epoch < cfg.train.epochs:
        epoch += 1
        began, lr = time.time(), opt.param_groups[0]["lr"]
        train_loss = t.train_epoch(epoch, opt, sched, scaler)
        val, threshold = t.validate()
        row = {"epoch": epoch, "train_loss": train_loss, **val, "lr": lr}
        row["seconds"] = time.time() - began
        history.append(row)
        if _improved(row.get(monitor), best["value"], higher, cfg.train.min_delta):
            best = {"epoch": epoch, "value": row[monitor], "threshold": threshold}
        fields = {
            **meta,
            "state_dict": t.kept_model.state_dict(),
            "threshold": threshold,
            "epoch": epoch,
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "scaler": scaler.state_dict(),
            "history": history,
            "best": best,
            "rng": rng_state(),
        }
        if t.ema is not None:
            fields |= {"train_state_dict": t.model.state_dict(), "ema_n_averaged": int(t.ema.n_averaged)}
        if t.draws is not None:
            fields["draws_rng"] = t.draws.state()
        save_checkpoint(out / "last.pt", **fields)
        if best["epoch"] == epoch:
            save_checkpoint(out / "best.pt", **fields)
        if cfg.train.save_every and epoch % cfg.train.save_every == 0:
            save_checkpoint(out / f"epoch-{epoch:03d}.pt", **fields)
        write_metrics(out, history, {"monitor": monitor, "best": best, "config": meta["config"]})
        plot_curves(out / "curves.png", history, monitor)
        fields_log: dict[str, Any] = {k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}
        log.info("epoch", extra=fields_log)
        stopped = _patience_spent(patience, epoch, best)
        if stopped and epoch < cfg.train.epochs:
            log_event(log, "early stopping", epoch=epoch, best_epoch=best["epoch"], patience=patience)
    wall_s = time.time() - wall
    ran = max(0, epoch - start_epoch + 1)
    return {
        "model": cfg.model.name,
        "task": cfg.task,
        "out": str(out),
        "first_epoch": start_epoch,
        "last_epoch": epoch,
        "epochs_run": ran,
        "stopped_early": stopped and epoch < cfg.train.epochs,
        "monitor": monitor,
        "best_epoch": best["epoch"],
        "best_value": best["value"],
        "threshold": best["threshold"],
        "best_checkpoint": str(out / "best.pt"),
        "last_checkpoint": str(out / "last.pt"),
        "train_size": len(t.train_set),
        "merged_size": len(t.splits.merged),
        "val_size": len(t.val_set),
        "wall_seconds": wall_s,
        "seconds_per_epoch": wall_s / ran if ran else 0.0,
    }
