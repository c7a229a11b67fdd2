"""Compare the crack layers of two GeoPackages written by ``geowarn detect``.

Checks that both hold the same cracks in the same order with the same attributes (up to
a relative tolerance) and the same geometries (exactly, or after normalising vertex order),
and prints the largest difference of each attribute. Exit status 1 if they differ.

The default tolerance, 1e-6, allows for OpenCV's distance transform, which can round a
radius differently in its last float32 bit from one run to the next: two runs of the
same code on the same mask differ in their widths by up to about 1e-7 (relative).

    python benchmarks/compare_cracks.py before/cracks.gpkg after/cracks.gpkg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geowarn.vectorize import CENTERLINE_LAYER, COLUMNS, POLYGON_LAYER


def compare_layer(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, rtol: float, gtol: float) -> list[str]:
    """Differences between two crack layers, as printable lines (empty if none)."""
    problems = []
    if len(a) != len(b):
        return [f"{len(a)} vs {len(b)} features"]
    for col in COLUMNS:
        x, y = a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float)
        both_nan = np.isnan(x) & np.isnan(y)
        diff = np.where(both_nan, 0.0, np.abs(x - y))
        rel = diff / np.maximum(np.abs(x), 1e-300)
        worst = float(np.nanmax(rel, initial=0.0))
        print(f"    {col:16s} max abs diff {float(np.nanmax(diff, initial=0.0)):.3g}, max rel diff {worst:.3g}")
        if worst > rtol or np.isnan(diff).any():
            problems.append(f"{col}: max relative difference {worst:.3g} > {rtol:g}")
    ga, gb = a.geometry.to_numpy(), b.geometry.to_numpy()
    exact = shapely.equals_exact(ga, gb, 0.0)
    normal = shapely.equals_exact(shapely.normalize(ga), shapely.normalize(gb), gtol)
    print(f"    geometry         {int(exact.sum())} of {len(a)} identical, {int(normal.sum())} equal after normalising")
    if not normal.all():
        problems.append(f"{int((~normal).sum())} geometries differ by more than {gtol:g}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rtol", type=float, default=1e-6, help="largest relative attribute difference")
    parser.add_argument("--gtol", type=float, default=1e-9, help="largest coordinate difference (CRS units)")
    args = parser.parse_args()
    problems = []
    for layer in (POLYGON_LAYER, CENTERLINE_LAYER):
        print(f"{layer}:")
        a, b = gpd.read_file(args.before, layer=layer), gpd.read_file(args.after, layer=layer)
        print(f"    features         {len(a)} vs {len(b)}")
        problems += [f"{layer}: {p}" for p in compare_layer(a, b, args.rtol, args.gtol)]
    print("same cracks" if not problems else "DIFFERENT:\n  " + "\n  ".join(problems))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
