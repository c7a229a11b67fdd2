"""Survey rendering: georeferencing error sign convention, illumination, GeoTIFF output, data errors."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import rasterio

from geowarn.errors import ConfigError, InvalidRasterError
from geowarn.harness.scenario.compose import (
    SEAM_PX,
    CrackSample,
    apply_illumination,
    draw_illumination,
    draw_offset,
    list_samples,
    render_survey,
    stack_world,
    write_mask_tif,
    write_rgb_tif,
)

ORIGIN = (500000.0, 5100000.0)
GSD = 0.01


def spot_centre_xy(img: np.ndarray, transform: rasterio.Affine) -> tuple[float, float]:
    """Map (x, y) of the intensity-weighted centre of a bright spot."""
    w = img.astype(np.float64)
    w = np.where(w > 5, w, 0.0)
    rows, cols = np.indices(w.shape)
    c = float((w * cols).sum() / w.sum()) + 0.5
    r = float((w * rows).sum() / w.sum()) + 0.5
    return transform * (c, r)


@pytest.mark.parametrize("offset", [(0.1234, -0.2345), (-0.4321, 0.0567), (0.0, 0.0), (0.3333, 0.3333)])
def test_feature_moves_by_the_offset(offset: tuple[float, float]) -> None:
    world = np.zeros((80, 100, 3), np.uint8)
    cv2.circle(world, (40, 30), 4, (255, 255, 255), -1)
    world = cv2.GaussianBlur(world, (0, 0), 1.5)
    truth = np.zeros((80, 100), bool)
    true_xy = spot_centre_xy(world[:, :, 0], rasterio.Affine(GSD, 0, ORIGIN[0], 0, -GSD, ORIGIN[1]))
    rgb, mask, transform = render_survey(world, truth, ORIGIN, GSD, offset)
    seen = spot_centre_xy(rgb[:, :, 0], transform)
    assert seen[0] - true_xy[0] == pytest.approx(offset[0], abs=0.05 * GSD)
    assert seen[1] - true_xy[1] == pytest.approx(offset[1], abs=0.05 * GSD)
    assert (transform.c - ORIGIN[0]) / GSD == pytest.approx(round((transform.c - ORIGIN[0]) / GSD))
    assert mask.dtype == np.uint8 and not mask.any()


def test_truth_mask_follows_the_content() -> None:
    world = np.full((60, 60, 3), 150, np.uint8)
    truth = np.zeros((60, 60), bool)
    truth[20:40, 29:32] = True
    world[truth] = 30
    rgb, mask, _ = render_survey(world, truth, ORIGIN, GSD, (0.032, -0.017))
    dark = rgb[:, :, 0] < 90
    assert (mask.astype(bool) ^ dark).sum() <= 0.1 * dark.sum()


def test_offsets_within_disc_and_illumination_ranges() -> None:
    rng = np.random.default_rng(5)
    offsets = [draw_offset(rng, 0.5) for _ in range(500)]
    assert max(math.hypot(*o) for o in offsets) <= 0.5
    assert max(math.hypot(*o) for o in offsets) > 0.45
    for _ in range(50):
        ill = draw_illumination(rng)
        assert 0.75 <= ill.gain <= 1.25 and 0.8 <= ill.gamma <= 1.2
        assert 2.0 <= ill.noise_sigma <= 3.0 and 0.0 <= ill.blur_sigma <= 0.6
        assert all(0.95 <= c <= 1.05 for c in ill.colour_cast)


def test_illumination_changes_brightness_and_adds_noise() -> None:
    img = np.full((64, 64, 3), 128, np.uint8)
    ill = draw_illumination(np.random.default_rng(1))
    out = apply_illumination(img, ill, np.random.default_rng(2))
    expected = (128 / 255) ** ill.gamma * ill.gain * np.asarray(ill.colour_cast) * 255
    assert out.reshape(-1, 3).mean(axis=0) == pytest.approx(expected, abs=1.0)
    assert out[:, :, 0].std() == pytest.approx(ill.noise_sigma, rel=0.25)


def test_stack_world_feathers_and_rejects_cracks_at_the_seam(tmp_path: Path) -> None:
    sample = CrackSample("x", tmp_path / "x.jpg", tmp_path / "x.png", "x.jpg")
    a, b = np.full((50, 40, 3), 100, np.uint8), np.full((50, 40, 3), 200, np.uint8)
    ma, mb = np.zeros((50, 40), bool), np.zeros((50, 40), bool)
    ma[5, 5:30] = True
    world = stack_world([(sample, a, ma, False, False), (sample, b, mb, False, True)])
    assert world.image.shape == (100 - SEAM_PX, 40, 3) and world.mask.sum() == ma.sum()
    column = world.image[:, 0, 0].astype(int)
    assert np.all(np.diff(column) >= 0) and column[0] == 100
    assert [p["row0"] for p in world.parts] == [0, 50 - SEAM_PX]
    with pytest.raises(InvalidRasterError, match="seam"):
        stack_world([(sample, a, ma, True, False), (sample, b, mb, False, False)])


def test_geotiffs_are_tiled_deflate_with_crs(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 255, (300, 280, 3), dtype=np.uint8)
    transform = rasterio.Affine(GSD, 0, ORIGIN[0], 0, -GSD, ORIGIN[1])
    write_rgb_tif(tmp_path / "a.tif", rgb, "EPSG:32633", transform)
    write_mask_tif(tmp_path / "m.tif", (rgb[:, :, 0] > 128).astype(np.uint8), "EPSG:32633", transform)
    with rasterio.open(tmp_path / "a.tif") as src:
        assert src.count == 3 and src.dtypes[0] == "uint8" and src.crs.to_epsg() == 32633
        assert src.block_shapes[0] == (256, 256) and src.compression.name.lower() == "deflate"
        assert np.array_equal(np.transpose(src.read(), (1, 2, 0)), rgb)
    with rasterio.open(tmp_path / "m.tif") as src:
        assert src.count == 1 and set(np.unique(src.read(1))) <= {0, 1} and src.transform == transform


def test_missing_data_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=str(tmp_path / "nope")):
        list_samples(tmp_path / "nope")
    with pytest.raises(ConfigError, match="crack-seg/crackforest/test"):
        list_samples(tmp_path)
    root = tmp_path / "crack-seg" / "crackforest" / "test"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    with pytest.raises(ConfigError, match="holds no image"):
        list_samples(tmp_path)
    cv2.imwrite(str(root / "images" / "a.jpg"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InvalidRasterError, match="has no mask"):
        list_samples(tmp_path)


def test_fit_width_cuts_or_pads_an_image_and_its_mask_alike() -> None:
    from geowarn.harness.scenario.compose import fit_width

    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    mask = np.zeros((4, 6), bool)
    mask[:, 2] = True
    cut_image, cut_mask = fit_width(image, mask, 4)
    assert cut_image.shape == (4, 4, 3) and np.array_equal(cut_image, image[:, 1:5])
    assert np.array_equal(cut_mask, mask[:, 1:5])
    wide_image, wide_mask = fit_width(image, mask, 9)
    assert wide_image.shape == (4, 9, 3) and wide_mask.shape == (4, 9)
    assert np.array_equal(wide_image[:, 1:7], image) and np.array_equal(wide_mask[:, 1:7], mask)
    assert fit_width(image, mask, 6)[0] is image
