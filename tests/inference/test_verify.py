from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import rasterio
import torch
from rasterio.transform import from_origin
from shapely.geometry import LineString, MultiLineString
from torch import nn

from geowarn.inference.cascade import LoadedModel
from geowarn.inference.verify import MAX_PATCHES, PATCH_PX, CrackVerifier, patch_centres, read_patch
from geowarn.io.raster import open_orthomosaic
from geowarn.models.registry import ModelSpec

GSD = 0.02
ORIGIN = (500000.0, 5100000.0)


class CentreDarkness(nn.Module):
    """Toy verifier: positive when the middle eighth of the patch is dark."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        centre = x[:, :, h // 2 - h // 16 : h // 2 + h // 16, w // 2 - w // 16 : w // 2 + w // 16]
        return (-1.0 - centre.mean(dim=1).amin(dim=(1, 2))) * 20.0


def toy_verifier(threshold: float = 0.5) -> CrackVerifier:
    spec = ModelSpec("toy-verify", "classify", CentreDarkness, input_scale=0.5)
    return CrackVerifier(LoadedModel(spec, CentreDarkness().eval(), "2" * 64, threshold), torch.device("cpu"), None)


def ortho_with_line(tmp_path: Path) -> Path:
    """Bright ground 200 x 300 px with a dark horizontal line on row 50, columns 20..280."""
    rgb = np.full((3, 200, 300), 170, np.uint8)
    rgb[:, 48:53, 20:280] = 10
    path = tmp_path / "ortho.tif"
    profile = {"driver": "GTiff", "height": 200, "width": 300, "count": 3, "dtype": "uint8", "crs": "EPSG:32633"}
    with rasterio.open(path, "w", transform=from_origin(*ORIGIN, GSD, GSD), **profile) as dst:
        dst.write(rgb)
    return path


def world(col: float, row: float) -> tuple[float, float]:
    return ORIGIN[0] + (col + 0.5) * GSD, ORIGIN[1] - (row + 0.5) * GSD


def test_patch_centres_are_spread_along_the_line_and_capped() -> None:
    short = LineString([(0, 0), (10, 0)])
    np.testing.assert_allclose(patch_centres(short, 64.0), [[5.0, 0.0]])
    line = LineString([(0, 0), (256, 0)])
    np.testing.assert_allclose(patch_centres(line, 64.0)[:, 0], [32, 96, 160, 224])
    long = MultiLineString([[(0, 0), (5000, 0)], [(0, 10), (5000, 10)]])
    assert len(patch_centres(long, 64.0)) == MAX_PATCHES


def test_read_patch_mirrors_the_ground_beyond_the_raster(tmp_path: Path) -> None:
    path = ortho_with_line(tmp_path)
    info = open_orthomosaic(path)
    with rasterio.open(path) as src:
        inside = read_patch(src, info, *world(150, 100), 64)
        corner = read_patch(src, info, *world(0, 50), 64)
    assert inside.shape == corner.shape == (64, 64, 3)
    assert (inside == 170).all()
    assert (corner[30:35, 52:] == 10).all() and (corner[30:35, 32:52] == 170).all()  # the line from column 20 on
    # mirrored about the edge pixel, exactly as the verifier's training patches were padded
    with rasterio.open(path) as src:
        whole = np.moveaxis(src.read(), 0, -1)
    padded = cv2.copyMakeBorder(whole, 32, 32, 32, 32, cv2.BORDER_REFLECT_101)
    row, col = 50 + 32, 0 + 32  # the corner patch's centre in the padded raster
    np.testing.assert_array_equal(corner, padded[row - 32 : row + 32, col - 32 : col + 32])
    np.testing.assert_array_equal(corner[:, 1:32], corner[:, 33:64][:, ::-1])


def test_verifier_scores_candidates_on_the_orthomosaic(tmp_path: Path) -> None:
    path = ortho_with_line(tmp_path)
    info = open_orthomosaic(path)
    on_line = LineString([world(30, 50), world(270, 50)])
    on_ground = LineString([world(30, 150), world(270, 150)])
    verifier = toy_verifier()
    with rasterio.open(path) as src:
        scores = verifier.scores(src, info, [on_line, on_ground])
        confirmed = scores >= verifier.threshold
        half = verifier.scores(src, info, [on_line], scale=0.5)  # model pixels half the raster's
    assert scores[0] > 0.99 and scores[1] < 0.01
    assert confirmed.tolist() == [True, False]
    assert half[0] > 0.5
    assert verifier.scores(src, info, []).shape == (0,)


def test_patch_size_is_what_the_verifier_was_trained_on() -> None:
    assert PATCH_PX == 128


@pytest.mark.parametrize("threshold", [0.0, 1.0])
def test_threshold_comes_from_the_model(threshold: float) -> None:
    assert toy_verifier(threshold).threshold == threshold
