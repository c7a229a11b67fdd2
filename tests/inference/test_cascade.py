from __future__ import annotations

import numpy as np
import pytest
import torch

from geowarn.device import pick_precision
from geowarn.errors import ModelError
from geowarn.inference.cascade import Cascade


def test_segment_keeps_odd_tile_sizes_and_batches(toy_cascade: Cascade) -> None:
    rng = np.random.default_rng(0)
    tiles = rng.integers(100, 200, (5, 40, 37, 3), dtype=np.uint8)
    tiles[:, 20, :, :] = 10  # a dark row in every tile
    probs = toy_cascade.segment(tiles, batch=2)
    assert probs.shape == (5, 40, 37) and probs.dtype == np.float32
    assert (probs[:, 20] > 0.99).all() and (probs[:, :15] < 0.01).all()


def test_gate_scores_tiles(toy_cascade: Cascade) -> None:
    tiles = np.full((3, 64, 64, 3), 160, np.uint8)
    tiles[1, 30:34] = 5
    scores = toy_cascade.classify(tiles, batch=2)
    assert scores[1] > 0.5 > max(scores[0], scores[2])


def test_models_must_match_their_role(toy_cascade: Cascade) -> None:
    with pytest.raises(ModelError, match="not a segmenter"):
        Cascade(toy_cascade.classifier, None, torch.device("cpu"))  # type: ignore[arg-type]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_autocast_matches_cpu(toy_cascade: Cascade) -> None:
    tiles = np.random.default_rng(1).integers(0, 255, (4, 64, 64, 3), dtype=np.uint8)
    cpu = toy_cascade.segment(tiles, 4)
    toy_cascade.device = torch.device("cuda")
    toy_cascade.segmenter.module.cuda()
    toy_cascade.amp_dtype = pick_precision(toy_cascade.device).dtype
    assert np.abs(toy_cascade.segment(tiles, 4) - cpu).max() < 0.02
