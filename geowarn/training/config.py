"""Validated settings of ``geowarn train``: a YAML file, ``--set key.sub=value`` and common flags.

Every section rejects unknown keys. Errors name the file, the field, the value and the fix.
Relative paths are taken from the current directory. The example files in ``config/train/``
document every key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from geowarn.errors import ConfigError, ModelError
from geowarn.settings import format_errors as format_settings_errors
from geowarn.settings import parse_yaml, read_mapping

Task = Literal["classify", "segment"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelConfig(_Section):
    """Which registry model to train."""

    name: str = Field(description="registry name (geowarn models lists them)")
    options: dict[str, Any] = Field(default_factory=dict, description="builder options (e.g. base_channels)")


class SourceConfig(_Section):
    """One extra dataset folder (``data.merge_with``)."""

    root: Path
    split: str | None = "train"
    limit: int | None = Field(None, ge=1)


class BackgroundConfig(_Section):
    """Crack-free crops cut when a ``draws`` run starts, from a folder in geowarn's data layout.

    Sources: the training background rasters of ``geotiff/`` and the first 80 % of
    ``crack-cls/brickwork/no_crack`` (see :mod:`geowarn.training.datasets`), plus synthetic
    slope terrain. The run's draw generator cuts them, so the crops follow from ``train.seed``.
    """

    data: Path = Field(description="data folder holding geotiff/ and crack-cls/ (e.g. ../shared/data)")
    size: int = Field(128, ge=8, description="crop side in pixels")
    per_image: int = Field(4, ge=0, description="crops from each background image")
    per_large_image: int = Field(200, ge=0, description="more crops from images at least 1024 px on each side")
    synthetic: int = Field(500, ge=0, description="crops of synthetic slope terrain")


class DataConfig(_Section):
    """Folders of the training and validation sets."""

    roots: list[Path] = Field(default_factory=list, description="dataset folders (--data)")
    train_split: str | None = "train"
    val_split: str | None = None
    val_roots: list[Path] = Field(
        default_factory=list, description="validation folders (val_split inside them); when set, roots only train"
    )
    val_fraction: float = Field(0.2, gt=0, lt=1)
    split_seed: int = 0
    positive: list[str] = Field(default_factory=lambda: ["crack"], min_length=1)
    negative: list[str] = Field(default_factory=lambda: ["no_crack"], min_length=1)
    limit: int | None = Field(None, ge=1)
    merge_with: list[SourceConfig] = Field(default_factory=list)
    cache: bool = True
    balance_classes: bool = False
    sampler: Literal["shuffle", "draws"] = Field(
        "shuffle", description="shuffle: epochs over the training set; draws: batches drawn with replacement"
    )
    background_per_batch: int = Field(0, ge=0, description="draws: crack-free crops (data.backgrounds) per batch")
    backgrounds: BackgroundConfig | None = None


class AugmentConfig(_Section):
    """Augmentations of the training images (masks follow the geometric ones)."""

    hflip: float = Field(0.5, ge=0, le=1)
    vflip: float = Field(0.5, ge=0, le=1)
    rotation: float = Field(0.0, ge=0, le=180)
    scale: tuple[float, float] | None = None
    affine_p: float = Field(0.5, ge=0, le=1)
    resize: int | None = Field(None, ge=8)
    crop: int | None = Field(None, ge=8)
    crop_mode: Literal["random", "center"] = "random"
    brightness: float = Field(0.0, ge=0)
    contrast: float = Field(0.0, ge=0)
    saturation: float = Field(0.0, ge=0)
    hue: float = Field(0.0, ge=0, le=0.5)
    grayscale: float = Field(0.0, ge=0, le=1)
    channel_gain: float = Field(0.0, ge=0, le=1)
    blur: float = Field(0.0, ge=0, le=1)

    @field_validator("scale")
    @classmethod
    def _scale_order(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0 < value[0] <= value[1]:
            raise ValueError("scale must be [low, high] with 0 < low <= high")
        return value


class OptimConfig(_Section):
    """Optimiser."""

    name: Literal["sgd", "adamw"] = "sgd"
    lr: float = Field(0.01, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = False
    weight_decay: float = Field(5e-4, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float | None = Field(None, gt=0)


class ScheduleConfig(_Section):
    """Learning-rate schedule, stepped every batch."""

    name: Literal["constant", "step", "cosine", "onecycle"] = "cosine"
    warmup_epochs: float = Field(0.0, ge=0)
    step_epochs: int = Field(10, ge=1)
    gamma: float = Field(0.1, gt=0, le=1)
    min_lr_ratio: float = Field(0.0, ge=0, le=1)
    onecycle_pct: float = Field(0.3, gt=0, lt=1)
    onecycle_div: float = Field(25.0, ge=1)
    cycle_momentum: bool = Field(
        False, description="onecycle: torch's OneCycleLR, also cycling momentum / Adam beta1 0.95-0.85-0.95"
    )


class LossConfig(_Section):
    """Training loss; ``null`` name picks bce (classify) or dice_bce (segment)."""

    name: Literal["bce", "focal", "dice", "dice_bce"] | None = None
    pos_weight: float | Literal["auto"] | None = None
    focal_gamma: float = Field(2.0, ge=0)
    focal_alpha: float | None = Field(0.25, ge=0, le=1)
    dice_weight: float = Field(1.0, ge=0)


class LoopConfig(_Section):
    """Epochs, batches, device, precision, seeds, checkpoints and early stopping."""

    epochs: int = Field(30, ge=1)
    batch_size: int = Field(32, ge=1)
    num_workers: int = Field(0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"
    seed: int = 0
    deterministic: bool = False
    threads: int = Field(0, ge=0)
    monitor: str | None = None
    monitor_mode: Literal["max", "min"] | None = None
    early_stopping: int | None = Field(None, ge=1)
    min_delta: float = Field(0.0, ge=0)
    save_every: int | None = Field(None, ge=1)
    select_threshold: bool = True
    threshold_recall: float | None = Field(None, gt=0, le=1)
    ema_decay: float | None = Field(None, gt=0, lt=1)
    steps_per_epoch: int | None = Field(None, ge=1, description="data.sampler draws: batches between validations")


class TransferConfig(_Section):
    """Transfer learning from a pretrained checkpoint."""

    init_from: str | None = None
    strategy: Literal["finetune", "freeze-backbone", "merge"] = "finetune"


class RunConfig(_Section):
    """One training run."""

    task: Task
    out: Path = Path("runs/train")
    model: ModelConfig
    data: DataConfig = Field(default_factory=DataConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    train: LoopConfig = Field(default_factory=LoopConfig)
    transfer: TransferConfig = Field(default_factory=TransferConfig)

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        if self.transfer.strategy == "merge" and not self.data.merge_with:
            raise ValueError("transfer.strategy 'merge' needs data.merge_with: the source datasets to merge")
        if self.data.merge_with and self.transfer.strategy != "merge":
            raise ValueError("data.merge_with is set; set transfer.strategy to 'merge' (or empty merge_with)")
        if self.data.balance_classes and self.task != "classify":
            raise ValueError("data.balance_classes is for classifiers; segmenters weigh crack pixels with loss.*")
        if self.train.threshold_recall is not None and self.task != "classify":
            raise ValueError("train.threshold_recall is for classifiers; segmenters take the validation ODS threshold")
        if self.loss.name == "dice" and self.task == "classify":
            raise ValueError("loss 'dice' is for segmentation; use bce or focal to classify")
        self._check_draws()
        if self.schedule.cycle_momentum and (self.schedule.name != "onecycle" or self.schedule.min_lr_ratio):
            raise ValueError(
                "schedule.cycle_momentum uses torch's OneCycleLR (final rate lr / onecycle_div / 1e4): "
                "set schedule.name onecycle and min_lr_ratio 0, or cycle_momentum false"
            )
        return self

    def _check_draws(self) -> None:
        d = self.data
        if d.sampler == "shuffle":
            if d.background_per_batch or d.backgrounds is not None or self.train.steps_per_epoch is not None:
                raise ValueError(
                    "data.background_per_batch, data.backgrounds and train.steps_per_epoch are for data.sampler "
                    "draws; set it, or remove them"
                )
            return
        if self.task != "segment":
            raise ValueError("data.sampler draws is for segmenters; classifiers use shuffle (and balance_classes)")
        if d.background_per_batch >= self.train.batch_size:
            raise ValueError(
                f"data.background_per_batch={d.background_per_batch} leaves no crack image in batches of "
                f"{self.train.batch_size}; use fewer than train.batch_size"
            )
        if d.background_per_batch and d.backgrounds is None:
            raise ValueError("data.background_per_batch needs data.backgrounds: the crack-free crops to draw from")

    @property
    def loss_name(self) -> str:
        """The loss, with the task default filled in."""
        return self.loss.name or ("bce" if self.task == "classify" else "dice_bce")

    def to_json_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (paths as strings)."""
        return self.model_dump(mode="json")


#: Common command-line flags and the setting each one overrides.
FLAG_KEYS = {
    "model": "model.name",
    "data": "data.roots",
    "out": "out",
    "epochs": "train.epochs",
    "batch_size": "train.batch_size",
    "lr": "optim.lr",
    "optimizer": "optim.name",
    "init_from": "transfer.init_from",
    "strategy": "transfer.strategy",
    "device": "train.device",
    "seed": "train.seed",
    "workers": "train.num_workers",
    "amp": "train.amp",
}


def parse_override(text: str) -> tuple[list[str], Any]:
    """``key.sub=value`` -> (["key", "sub"], value); the value is read as YAML (numbers, lists...)."""
    key, sep, raw = text.partition("=")
    parts = [p.strip() for p in key.split(".")]
    if not sep or not all(parts):
        raise ConfigError(f"--set {text!r}: expected KEY.SUB=VALUE, e.g. --set optim.lr=0.001")
    value = parse_yaml(raw, f"--set {text!r}") if raw.strip() else None
    return parts, value


def set_nested(data: dict[str, Any], path: list[str], value: Any, origin: str) -> None:
    """Set ``data[path[0]][path[1]]... = value``, creating sections as needed."""
    node = data
    for i, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(path[: i + 1])
            raise ConfigError(f"{origin}: {where} is a value, not a section; cannot set {'.'.join(path)}")
        node = child
    node[path[-1]] = value


def format_errors(exc: ValidationError, origin: str) -> str:
    """One line per problem field: file, key, value, problem and fix (``geowarn.settings`` format)."""
    return format_settings_errors(exc, origin, RunConfig, docs="the documented examples in config/train/")


def build_config(
    task: Task,
    base: dict[str, Any],
    *,
    origin: str,
    sets: list[str] | None = None,
    flags: dict[str, Any] | None = None,
) -> RunConfig:
    """Validate ``base`` (a loaded YAML or a checkpoint's config) with overrides applied."""
    data = dict(base)
    file_task = data.pop("task", None)
    if file_task is not None and file_task != task:
        raise ConfigError(f"{origin}: task is {file_task!r}; run it with geowarn train {file_task}")
    data["task"] = task
    for text in sets or []:
        path, value = parse_override(text)
        set_nested(data, path, value, f"--set {text}")
    for flag, value in (flags or {}).items():
        if value is not None:
            set_nested(data, FLAG_KEYS[flag].split("."), value, f"--{flag.replace('_', '-')}")
    data.setdefault("model", {})
    overridden = bool(sets) or any(v is not None for v in (flags or {}).values())
    where = f"{origin} + command line" if overridden and origin != "command line" else origin
    try:
        cfg = RunConfig(**data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, where)) from exc
    _check_model(cfg, where)
    return cfg


def _check_model(cfg: RunConfig, where: str) -> None:
    from geowarn.models.registry import get_spec

    try:
        spec = get_spec(cfg.model.name)
    except ModelError as exc:
        raise ConfigError(f"{where}: model.name={cfg.model.name!r}: {exc}") from exc
    if spec.task != cfg.task:
        raise ConfigError(
            f"{where}: model.name={cfg.model.name!r} is a {spec.task} model; "
            f"use geowarn train {spec.task} or pick a {cfg.task} model (geowarn models)"
        )


def load_train_config(
    task: Task,
    path: Path | None = None,
    *,
    sets: list[str] | None = None,
    flags: dict[str, Any] | None = None,
) -> RunConfig:
    """Read the YAML at ``path`` (optional) and apply ``--set`` overrides then flags."""
    base = read_mapping(path) if path is not None else {}
    return build_config(task, base, origin=str(path) if path else "command line", sets=sets, flags=flags)
