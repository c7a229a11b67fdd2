"""Synthetic georeferenced slope orthomosaics with a crack network of known geometry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from geowarn.harness.synthetic.cracks import CrackSpec, crack_length_px, crack_mask, render_cracks
from geowarn.harness.synthetic.networks import branch_crack, random_crack_network, sparse_crack_network
from geowarn.harness.synthetic.terrain import render_terrain

if TYPE_CHECKING:
    from geowarn.harness.synthetic.orthomosaic import SyntheticScene, demo_scene, make_orthomosaic

__all__ = [
    "CrackSpec",
    "SyntheticScene",
    "branch_crack",
    "crack_length_px",
    "crack_mask",
    "demo_scene",
    "make_orthomosaic",
    "random_crack_network",
    "render_cracks",
    "render_terrain",
    "sparse_crack_network",
]

_LAZY = {"SyntheticScene", "demo_scene", "make_orthomosaic"}


def __getattr__(name: str) -> Any:
    # The GeoTIFF writer pulls in rasterio and geopandas: import it on first use only, which also
    # keeps ``python -m geowarn.harness.synthetic.orthomosaic`` free of a double-import warning.
    if name in _LAZY:
        from geowarn.harness.synthetic import orthomosaic

        return getattr(orthomosaic, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
