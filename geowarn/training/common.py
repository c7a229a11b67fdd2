"""Pieces shared by the training commands: the command line and saving a finished run."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import torch


@dataclass
class TrainConfig:
    """Settings every training run has (subclasses set their own defaults and add more)."""

    data: Path
    out: Path
    model: str = ""
    steps: int = 1000
    batch_size: int = 16
    crop: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    synthetic_negatives: int = 1500
    seed: int = 4
    threads: int = 0


_Config = TypeVar("_Config", bound="TrainConfig")


def training_parser(
    description: str | None, model: str, steps: int, synthetic_negatives: int
) -> argparse.ArgumentParser:
    """Options every training command takes."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder (crack-seg/, geotiff/...)")
    parser.add_argument("--out", type=Path, required=True, help="weights file to write (.pt)")
    parser.add_argument("--model", default=model, help=f"registry name (default {model})")
    parser.add_argument("--steps", type=int, default=steps, help=f"optimiser steps (default {steps})")
    parser.add_argument(
        "--synthetic-negatives", type=int, default=synthetic_negatives, help="crack-free synthetic terrain crops"
    )
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    return parser


def config_from_args(cls: type[_Config], args: argparse.Namespace) -> _Config:
    """A training config from the parsed options whose names match its fields."""
    given = vars(args)
    return cls(**{f.name: given[f.name] for f in fields(cls) if f.name in given})


def setup_training_logs() -> None:
    """Timestamped log lines on stderr."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


def save_run(cfg: TrainConfig, state: dict[str, torch.Tensor], summary: dict[str, Any]) -> dict[str, Any]:
    """Write the weights to ``cfg.out`` and the summary, with the config, next to them (.train.json)."""
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().contiguous() for k, v in state.items()}, cfg.out)
    config = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()}
    summary = {"model": cfg.model, "config": config, **summary}
    cfg.out.with_suffix(".train.json").write_text(json.dumps(summary, indent=2))
    return summary
