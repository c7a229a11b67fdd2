from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geowarn.inference.cascade import Cascade
from geowarn.training import verify_data
from geowarn.training.datasets import SegPair
from geowarn.training.verify_calibrate import GRID, kept_share, pick_threshold
from geowarn.training.verify_data import PATCH, candidate_labels, candidate_patches, near_truth, vegetation_views
from tests.conftest import soil_rgb, write_geotiff


def scene() -> tuple[np.ndarray, np.ndarray]:
    """Soil 200 x 260 px with two dark lines; only the upper one is in the truth mask."""
    image = np.ascontiguousarray(np.moveaxis(soil_rgb(200, 260, seed=2), 0, -1))
    image[40:44, 20:240] = 20
    image[140:144, 20:240] = 20
    truth = np.zeros((200, 260), np.uint8)
    truth[40:44, 20:240] = 1
    return image, truth


def test_candidates_are_labelled_by_the_truth(tmp_path: Path, toy_cascade: Cascade) -> None:
    image, truth = scene()
    labels, shares = candidate_labels(image, near_truth(truth), toy_cascade, tmp_path / "a")
    assert sorted(round(s) for s in shares) == [0, 1]
    upper = int(labels[42, 100])
    assert shares[upper - 1] == pytest.approx(1.0)
    _, unlabelled = candidate_labels(image, None, toy_cascade, tmp_path / "b")
    assert unlabelled == [0.0, 0.0]


def test_patches_are_centred_on_the_candidates(tmp_path: Path, toy_cascade: Cascade) -> None:
    image, truth = scene()
    found = candidate_patches(image, truth, toy_cascade, tmp_path / "a", np.random.default_rng(0), per_candidate=3)
    assert len(found["crack"]) == len(found["no_crack"]) == 3
    for patch in found["crack"] + found["no_crack"]:
        assert patch.shape == (PATCH, PATCH, 3)
        assert patch[PATCH // 2, PATCH // 2].max() == 20  # the centre pixel is on the dark line


def test_vegetation_views_enlarge_and_turn(tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "veg.tif", soil_rgb(30, 40, seed=1))
    views = list(vegetation_views(path, (2, 3)))
    assert [v[0] for v in views] == ["veg"] * 8
    assert views[0][1].shape == (60, 80, 3) and views[1][1].shape == (80, 60, 3) and views[4][1].shape == (90, 120, 3)
    assert list(vegetation_views(tmp_path / "missing.tif", (2,))) == []


def test_threshold_keeps_the_share_of_crack_length() -> None:
    cracks = [(1.0, 0.9), (1.0, 0.8), (1.0, 0.72), (1.0, 0.3)]
    share = kept_share(cracks)
    assert share[0.0] == 1.0 and share[0.7] == 0.75 and share[0.75] == 0.5
    assert pick_threshold(share, keep=0.75) == 0.7
    assert pick_threshold(share, keep=1.0) == 0.3
    assert pick_threshold(kept_share([]), keep=0.5) == 0.0
    assert GRID[0] == 0.0 and GRID[-1] == 0.95


def test_vegetation_rasters_are_not_the_held_out_scrub() -> None:
    assert "australia.tif" not in verify_data.VEGETATION.values()


def test_training_draws_weigh_crack_sources_alike() -> None:
    pairs = [SegPair(Path(f"a{i}.jpg"), Path(f"a{i}.png"), "big", "train") for i in range(6)]
    pairs += [SegPair(Path("b.jpg"), Path("b.png"), "small", "train")]
    balanced = verify_data.source_balanced(pairs)
    assert sorted(balanced) == [0, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6]
    chosen = verify_data.balanced_choice(pairs, 4, np.random.default_rng(0))
    assert len(chosen) == len(set(chosen)) == 3 and 6 in chosen  # two of the big source, all of the small one
