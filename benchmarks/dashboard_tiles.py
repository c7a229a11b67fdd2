"""Map tile timings of the dashboard: p50/p95 of 256 px tiles read from a large COG with rio-tiler.

Writes a synthetic RGB COG (default 20,000 x 20,000 px, 2 cm, DEFLATE, internal overviews) once
into --work, then renders random tiles at the zooms a geologist uses (the raster's minimum zoom to
its native zoom) and prints the timings.

    python benchmarks/dashboard_tiles.py [--size 20000] [--tiles 300] [--work .bench]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import morecantile
import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from geowarn.dashboard.tiles import render_tile


def write_cog(path: Path, size: int) -> None:
    """A textured RGB GeoTIFF, tiled and compressed, with overviews (a COG layout)."""
    rng = np.random.default_rng(0)
    block = rng.integers(60, 200, size=(3, 1024, 1024), dtype=np.uint8)
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8", "crs": "EPSG:32633",
        "transform": from_origin(500000.0, 5200000.0, 0.02, 0.02), "tiled": True, "blockxsize": 512,
        "blockysize": 512, "compress": "deflate", "interleave": "pixel", "BIGTIFF": "IF_SAFER",
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, size, 1024):
            for col in range(0, size, 1024):
                h, w = min(1024, size - row), min(1024, size - col)
                dst.write(np.roll(block, (row + col) // 7, axis=2)[:, :h, :w], window=Window(col, row, w, h))
        factors = [2**i for i in range(1, 12) if size // 2**i >= 256]
        dst.build_overviews(factors, Resampling.average)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--tiles", type=int, default=300)
    parser.add_argument("--work", type=Path, default=Path(".bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    path = args.work / f"ortho_{args.size}.tif"
    if not path.exists():
        started = time.perf_counter()
        write_cog(path, args.size)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s")
    with rasterio.open(path) as src:
        west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    tms = morecantile.tms.get("WebMercatorQuad")
    from rio_tiler.io import Reader

    with Reader(str(path)) as reader:
        zooms = range(reader.minzoom, reader.maxzoom + 1)
    rnd = random.Random(0)
    times = []
    for _ in range(args.tiles):
        z = rnd.choice(zooms)
        tile = tms.tile(rnd.uniform(west, east), rnd.uniform(south, north), z)
        started = time.perf_counter()
        render_tile(str(path), tile.x, tile.y, tile.z)
        times.append(time.perf_counter() - started)
    ms = np.array(times) * 1000
    print(
        f"tiles from a {args.size:,} x {args.size:,} px COG, zooms {zooms.start}-{zooms.stop - 1}, {args.tiles} tiles: "
        f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms"
    )


if __name__ == "__main__":
    main()
