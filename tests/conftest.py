"""Shared fixtures: tiny seeded GeoTIFFs, the real-data folder, a deterministic toy cascade."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import torch
from hypothesis import settings
from rasterio.transform import from_origin
from torch import nn

from geowarn.inference.cascade import Cascade, LoadedModel
from geowarn.models.registry import ModelSpec

# Property tests: no deadline (the machines are shared and slow), the same examples on every run.
settings.register_profile("geowarn", deadline=None, derandomize=True, database=None)
settings.load_profile("geowarn")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder beside the checkout; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (only present beside the project checkout and in CI)")
    return SHARED_DATA


def write_geotiff(
    path: Path, data: np.ndarray, *, crs: str | None = "EPSG:32633", transform: Any = "default", **profile: Any
) -> Path:
    """Write a (bands, H, W) array as a GeoTIFF; ``transform=None`` leaves it ungeoreferenced."""
    if transform == "default":
        transform = from_origin(500000.0, 5200000.0, 0.02, 0.02)
    kwargs: dict[str, Any] = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
    }
    if crs is not None:
        kwargs["crs"] = crs
    if transform is not None:
        kwargs["transform"] = transform
    kwargs.update(profile)
    with rasterio.open(path, "w", **kwargs) as dst:
        dst.write(data)
    return path


def soil_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth seeded brownish texture, (3, H, W) uint8."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (height // 8 + 2, width // 8 + 2)).astype(np.float32)
    import cv2

    smooth = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    base = np.array([150, 120, 90], np.float32)[:, None, None]
    return np.clip(base + 12 * smooth[None], 0, 255).astype(np.uint8)


@pytest.fixture
def make_geotiff(tmp_path: Path) -> Callable[..., Path]:
    """Factory writing seeded soil-like GeoTIFFs into ``tmp_path``."""

    def factory(
        name: str = "ortho.tif",
        height: int = 96,
        width: int = 128,
        bands: int = 3,
        dtype: str = "uint8",
        seed: int = 0,
        **kwargs: Any,
    ) -> Path:
        rgb = soil_rgb(height, width, seed)
        data = np.concatenate([rgb, np.full((max(bands - 3, 0), height, width), 255, np.uint8)])[:bands]
        if dtype == "uint16":
            data = data.astype(np.uint16) * 257
        return write_geotiff(tmp_path / name, data, **kwargs)

    return factory


class DarknessSegmenter(nn.Module):
    """Toy segmenter: crack logit grows with darkness (grey below ~0.25 normalised -> crack)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x.mean(dim=1, keepdim=True)
        return (-1.0 - grey) * 20.0


class DarknessGate(nn.Module):
    """Toy gate: positive when any pixel is very dark."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (-1.0 - x.mean(dim=1).amin(dim=(1, 2))) * 20.0


def make_toy_cascade() -> Cascade:
    """Deterministic cascade that marks dark pixels as cracks; no weights needed."""
    seg_spec = ModelSpec("toy-seg", "segment", DarknessSegmenter, size_multiple=16)
    cls_spec = ModelSpec("toy-gate", "classify", DarknessGate, input_scale=0.5)
    seg = LoadedModel(seg_spec, DarknessSegmenter().eval(), "0" * 64, 0.5)
    gate = LoadedModel(cls_spec, DarknessGate().eval(), "1" * 64, 0.5)
    return Cascade(seg, gate, torch.device("cpu"))


@pytest.fixture
def toy_cascade() -> Cascade:
    """Deterministic cascade that marks dark pixels as cracks; no weights needed."""
    return make_toy_cascade()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The hardening counts (bad inputs, secrets, crash trials, delivery faults), when any test kept them."""
    from tests.hardening import summary

    lines = summary()
    if lines:
        terminalreporter.section("hardening")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster for the session (``tests/pg.py``); skips with the reason when none starts."""
    from tests.pg import postgres_server

    try:
        context = postgres_server()
        server = context.__enter__()
    except RuntimeError as exc:
        if os.environ.get("GEOWARN_REQUIRE_PG") == "1":  # CI: PostgreSQL must run, not skip
            pytest.fail(f"no PostgreSQL although GEOWARN_REQUIRE_PG=1: {exc}")
        pytest.skip(f"no PostgreSQL: {exc}")
    try:
        yield server
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Runs a test on SQLite and on PostgreSQL: ``$GEOWARN_DB`` names a fresh PostgreSQL database for the second.

    Returns the PostgreSQL URL, or None on SQLite (each workspace's own file).
    """
    if request.param == "sqlite":
        monkeypatch.delenv("GEOWARN_DB", raising=False)
        return None
    url: str = request.getfixturevalue("pg_server").create_database()
    monkeypatch.setenv("GEOWARN_DB", url)
    return url
