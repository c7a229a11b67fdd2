"""Training sets from folders: class folders for classifiers, image/mask pairs for segmenters.

Classification: ``ROOT/<class>/*.jpg`` where the class names are configurable (crack classes are
positive). Segmentation: ``ROOT/images/NAME.jpg`` + ``ROOT/masks/NAME.png``. A root may hold
named splits (``ROOT/<split>/...``) or several sources (``ROOT/<source>/<split>/...``, the
crack-seg layout). Without a named validation split, a seeded fraction of the training files
validates; :func:`split_record` lists exactly which files went where.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import Dataset

from geowarn.errors import ConfigError
from geowarn.io.images import image_files, read_mask, read_rgb
from geowarn.training.augment import image_tensor, to_tensors
from geowarn.training.config import DataConfig, Task
from geowarn.training.datasets import folder_pairs


@dataclass(frozen=True)
class Sample:
    """One image with its crack mask (segmentation) or label (classification, 1 = crack)."""

    image: Path
    mask: Path | None = None
    label: int | None = None

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"image": str(self.image)}
        if self.mask is not None:
            row["mask"] = str(self.mask)
        if self.label is not None:
            row["label"] = self.label
        return row


def split_dirs(root: Path, split: str | None) -> list[Path]:
    """Folders holding ``split`` of ``root``: ``root/split`` or ``root/<source>/split`` (or root)."""
    if not root.is_dir():
        raise ConfigError(f"data folder {root} does not exist; check data.roots / --data")
    if not split:
        return [root]
    if (root / split).is_dir():
        return [root / split]
    found = sorted(d / split for d in root.iterdir() if (d / split).is_dir())
    if not found:
        raise ConfigError(
            f"data folder {root} has no split {split!r} (neither {root / split} nor {root}/<source>/{split}); "
            "set the split name, or null to use the folder itself"
        )
    return found


def class_samples(folder: Path, positive: Sequence[str], negative: Sequence[str]) -> list[Sample]:
    """Images of ``folder/<class>/`` labelled 1 for ``positive`` classes and 0 for ``negative``."""
    samples: list[Sample] = []
    for names, label in ((positive, 1), (negative, 0)):
        for name in names:
            if (folder / name).is_dir():
                samples += [Sample(p, label=label) for p in image_files(folder / name)]
    if not samples:
        wanted = ", ".join([*positive, *negative])
        raise ConfigError(
            f"{folder} has no images in class folders {wanted}; set data.positive / data.negative "
            "to the class folder names"
        )
    return samples


def pair_samples(folder: Path) -> list[Sample]:
    """Image/mask pairs of ``folder/images`` and ``folder/masks``."""
    pairs = folder_pairs(folder)
    if not pairs:
        raise ConfigError(f"{folder} has no image/mask pairs (images/NAME.* with masks/NAME.png)")
    return [Sample(image, mask=mask) for image, mask in pairs]


def folder_samples(
    root: Path, split: str | None, task: Task, data: DataConfig, limit: int | None = None
) -> list[Sample]:
    """Samples of ``split`` under ``root``; ``limit`` keeps the first files (sorted) of each folder/class."""
    samples: list[Sample] = []
    for folder in split_dirs(root, split):
        if task == "segment":
            samples += pair_samples(folder)[:limit]
        else:
            found = class_samples(folder, data.positive, data.negative)
            samples += [s for s in found if s.label == 1][:limit] + [s for s in found if s.label == 0][:limit]
    return samples


def fraction_split(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Deterministic seeded split (per label): (train, val) with ``fraction`` of each group validating."""
    train: list[Sample] = []
    val: list[Sample] = []
    for label in sorted({s.label for s in samples}, key=lambda v: -1 if v is None else v):
        group = [s for s in samples if s.label == label]
        order = np.random.default_rng(seed).permutation(len(group))
        n_val = max(1, round(len(group) * fraction)) if len(group) > 1 else 0
        val += [group[i] for i in sorted(order[:n_val])]
        train += [group[i] for i in sorted(order[n_val:])]
    return train, val


@dataclass
class Splits:
    """The files of one run: target train, merged source, validation."""

    train: list[Sample]
    val: list[Sample]
    merged: list[Sample]

    @property
    def train_all(self) -> list[Sample]:
        """Target train set followed by the merged source sets."""
        return self.train + self.merged


def collect_splits(data: DataConfig, task: Task) -> Splits:
    """Train / val / merged samples described by ``data``."""
    if not data.roots:
        raise ConfigError("no training data: set data.roots in the config or pass --data FOLDER")
    train: list[Sample] = []
    val: list[Sample] = []
    for root in data.roots:
        found = folder_samples(root, data.train_split, task, data, data.limit)
        if data.val_roots:
            train += found
        elif data.val_split:
            train += found
            val += folder_samples(root, data.val_split, task, data, data.limit)
        else:
            part_train, part_val = fraction_split(found, data.val_fraction, data.split_seed)
            train += part_train
            val += part_val
    for root in data.val_roots:
        val += folder_samples(root, data.val_split, task, data, data.limit)
    merged: list[Sample] = []
    for source in data.merge_with:
        merged += folder_samples(source.root, source.split, task, data, source.limit)
    if not val:
        raise ConfigError("the validation set is empty; add files, set data.val_split or raise data.val_fraction")
    return Splits(train, val, merged)


def split_record(splits: Splits) -> dict[str, Any]:
    """JSON record of which files went where."""
    return {
        "counts": {"train": len(splits.train), "merged": len(splits.merged), "val": len(splits.val)},
        "train": [s.to_json() for s in splits.train],
        "merged": [s.to_json() for s in splits.merged],
        "val": [s.to_json() for s in splits.val],
    }


Transform = Callable[..., Any]


class SampleDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Decoded, transformed samples: (image, label ()) or (image, mask (1, H, W)) as float tensors."""

    def __init__(self, samples: Sequence[Sample], transform: Transform, cache: bool = True) -> None:
        self.samples = list(samples)
        self.transform = transform
        self.cache = cache
        self._decoded: dict[int, tuple[NDArray[np.uint8], NDArray[np.uint8] | None]] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def raw(self, index: int) -> tuple[NDArray[np.uint8], NDArray[np.uint8] | None]:
        """The decoded uint8 image (H x W x 3) and 0/1 mask (H x W) or None."""
        if index in self._decoded:
            return self._decoded[index]
        sample = self.samples[index]
        decoded = (read_rgb(sample.image), read_mask(sample.mask) if sample.mask is not None else None)
        if decoded[1] is not None and decoded[1].shape != decoded[0].shape[:2]:
            raise ConfigError(f"{sample.mask}: mask size {decoded[1].shape} differs from its image's")
        if self.cache:
            self._decoded[index] = decoded
        return decoded

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.raw(index)
        label = self.samples[index].label
        if mask is None:
            out = self.transform(image_tensor(image))
            return out.as_subclass(torch.Tensor), torch.tensor(float(label or 0))
        x_img, x_mask = self.transform(*to_tensors(image, mask))
        return x_img.as_subclass(torch.Tensor), x_mask.as_subclass(torch.Tensor).float()


def collate(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack a batch; images of different sizes get a clear error."""
    shapes = {tuple(x.shape) for x, _ in batch}
    if len(shapes) > 1:
        raise ConfigError(
            f"images of one batch differ in size ({sorted(shapes)[:3]}); set augment.crop or augment.resize"
        )
    return torch.stack([x for x, _ in batch]), torch.stack([y for _, y in batch])
