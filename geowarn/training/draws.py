"""Batches drawn with replacement, each with a fixed number of crack-free crops (``data.sampler: draws``).

Every batch takes ``train.batch_size - data.background_per_batch`` training pairs and
``data.background_per_batch`` crack-free crops, drawn with replacement; an "epoch" is
``train.steps_per_epoch`` such batches, after which the run validates and checkpoints as usual.
The crops are cut when the run starts from the folder of ``data.backgrounds``.

One numpy generator, seeded with ``train.seed``, first cuts the crops and then draws every
batch. Augmentation uses torch's generator, seeded once before the model is built and not
again each epoch. A resumed run restores both, so it repeats an uninterrupted one exactly.
Batches reach the model as tiles reach it at inference: augmented uint8 crops go through
:func:`geowarn.models.preprocess.model_input` (normalised, channels-last), and the model is
trained channels-last.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import ConcatDataset, Dataset, Sampler
from torchvision.transforms import v2

from geowarn.errors import ConfigError
from geowarn.models.preprocess import model_input
from geowarn.models.registry import ModelSpec
from geowarn.training.augment import to_tensors
from geowarn.training.config import AugmentConfig, BackgroundConfig, RunConfig
from geowarn.training.datasets import background_images, background_pool
from geowarn.training.folders import SampleDataset, Transform
from geowarn.training.transforms import augmentations


class CropDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Crack-free crops with empty masks, augmented like the training pairs."""

    def __init__(self, crops: Sequence[NDArray[np.uint8]], transform: Transform) -> None:
        self.crops = list(crops)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        crop = self.crops[index]
        image, mask = self.transform(*to_tensors(crop, np.zeros(crop.shape[:2], np.uint8)))
        return image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor).float()


class DrawSampler(Sampler[list[int]]):
    """``steps`` batches of indices into pairs (first ``n_pairs``) then crops, drawn with ``rng``."""

    def __init__(
        self, rng: np.random.Generator, n_pairs: int, n_crops: int, batch: int, crops_per_batch: int, steps: int
    ) -> None:
        self.rng, self.n_pairs, self.n_crops = rng, n_pairs, n_crops
        self.batch, self.crops_per_batch, self.steps = batch, crops_per_batch, steps

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[list[int]]:
        for _ in range(self.steps):
            batch = [int(i) for i in self.rng.integers(0, self.n_pairs, self.batch - self.crops_per_batch)]
            if self.crops_per_batch:
                batch += [self.n_pairs + int(i) for i in self.rng.integers(0, self.n_crops, self.crops_per_batch)]
            yield batch


@dataclass
class Draws:
    """The draw generator and the pairs + crops it draws from."""

    rng: np.random.Generator
    dataset: ConcatDataset[tuple[torch.Tensor, torch.Tensor]]
    n_pairs: int
    n_crops: int
    crops_per_batch: int

    def sampler(self, batch: int, steps: int) -> DrawSampler:
        """The next ``steps`` batches."""
        return DrawSampler(self.rng, self.n_pairs, self.n_crops, batch, self.crops_per_batch, steps)

    def state(self) -> dict[str, Any]:
        """The generator state, for a checkpoint."""
        return dict(self.rng.bit_generator.state)

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's generator state."""
        self.rng.bit_generator.state = state


def draws_transform(aug: AugmentConfig) -> v2.Compose:
    """Resize and augmentations only: :func:`model_batch` prepares batches for the model."""
    steps = [v2.Resize((aug.resize, aug.resize), antialias=True)] if aug.resize else []
    return v2.Compose(steps + augmentations(aug))


def model_batch(images: torch.Tensor, spec: ModelSpec, device: torch.device) -> torch.Tensor:
    """N x 3 x H x W uint8 crops as the model sees tiles at inference (normalised, channels-last)."""
    return model_input(images.permute(0, 2, 3, 1).numpy(), spec, device)


def cut_backgrounds(cfg: BackgroundConfig, rng: np.random.Generator) -> list[NDArray[np.uint8]]:
    """The crack-free crops of ``data.backgrounds``."""
    images = background_images(cfg.data, "train")
    crops = background_pool(images, cfg.size, rng, cfg.per_image, cfg.per_large_image, cfg.synthetic)
    if not crops:
        raise ConfigError(
            f"data.backgrounds.data={str(cfg.data)!r}: no crack-free crop of {cfg.size} px could be cut (no "
            "background raster in geotiff/ or brick wall in crack-cls/brickwork/no_crack that large, and "
            "synthetic 0); point it at geowarn's data folder or raise data.backgrounds.synthetic"
        )
    return crops


def build_draws(cfg: RunConfig, spec: ModelSpec, pairs: SampleDataset) -> Draws:
    """Cut the crops and set up the draws of a ``draws`` run (pairs use ``draws_transform``)."""
    if spec.input_size:
        raise ConfigError(
            f"model.name={spec.name!r} takes a fixed {spec.input_size} px input; data.sampler draws feeds crops "
            "at their own size: use data.sampler shuffle for it"
        )
    rng = np.random.default_rng(cfg.train.seed)
    backgrounds = cfg.data.backgrounds
    crops = cut_backgrounds(backgrounds, rng) if backgrounds is not None else []
    dataset: ConcatDataset[tuple[torch.Tensor, torch.Tensor]] = ConcatDataset(
        [pairs, CropDataset(crops, pairs.transform)]
    )
    return Draws(rng, dataset, len(pairs), len(crops), cfg.data.background_per_batch)
