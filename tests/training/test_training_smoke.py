"""Both trainers run end to end on a tiny real subset and write weights the registry loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from geowarn.models.weights import load_weights
from geowarn.training.classifier import ClsTrainConfig
from geowarn.training.classifier import train as train_classifier
from geowarn.training.segmenter import SegTrainConfig
from geowarn.training.segmenter import train as train_segmenter

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture
def tiny_data(shared_data: Path, tmp_path: Path) -> Path:
    """A few real pairs per split (copied to tmp_path) plus the real background rasters."""
    root = tmp_path / "data"
    for source, split in (("gaps384", "train"), ("gaps384", "val"), ("crackforest", "train")):
        for kind in ("images", "masks"):
            (root / "crack-seg" / source / split / kind).mkdir(parents=True)
        images = sorted((shared_data / "crack-seg" / source / split / "images").iterdir())[:6]
        for image in images:
            shutil.copy(image, root / "crack-seg" / source / split / "images" / image.name)
            mask = shared_data / "crack-seg" / source / split / "masks" / (image.stem + ".png")
            shutil.copy(mask, root / "crack-seg" / source / split / "masks" / mask.name)
    (root / "geotiff").mkdir()
    for name in ("OSBS_029.tif", "test_tiled.tif"):
        (root / "geotiff" / name).symlink_to(shared_data / "geotiff" / name)
    return root


def test_segmenter_trains_and_saves_loadable_weights(tiny_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "unet-s.pt"
    cfg = SegTrainConfig(
        data=tiny_data,
        out=out,
        steps=2,
        batch_size=4,
        background_per_batch=1,
        eval_every=1,
        synthetic_negatives=2,
        threads=1,
    )
    summary = train_segmenter(cfg)
    assert out.exists() and out.with_suffix(".best.pt").exists()
    log = json.loads(out.with_suffix(".train.json").read_text())
    assert 0.2 <= log["threshold"] <= 0.8 and log["config"]["steps"] == 2 and summary["history"]
    model, sha = load_weights("unet-s", out)
    assert len(sha) == 64 and not model.training


def test_classifier_trains_and_calibrates(tiny_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "tilecls-s.pt"
    cfg = ClsTrainConfig(data=tiny_data, out=out, steps=2, batch_size=8, synthetic_negatives=4, threads=1)
    summary = train_classifier(cfg)
    assert out.exists()
    assert 0.0 <= float(summary["threshold"]) <= 1.0  # type: ignore[arg-type]
    assert summary["val_positives"] and summary["val_negatives"]
    load_weights("tilecls-s", out)
