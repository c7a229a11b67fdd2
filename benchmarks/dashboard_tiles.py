"""Map tile timings of the dashboard: p50/p95 of 256 px tiles read from a large COG with rio-tiler.

Writes a synthetic RGB COG (default 20,000 x 20,000 px, 2 cm, DEFLATE, internal overviews) once
into --work, then renders random tiles at the zooms a geologist uses (the raster's minimum zoom to
its native zoom) and prints the timings.

Then times the site page's crack layer (GeoJSON of --cracks centrelines).

    python benchmarks/dashboard_tiles.py [--size 20000] [--tiles 300] [--cracks 5000] [--work .bench]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date
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


def crack_layer_seconds(n: int) -> float:
    """Seconds to build the site page's crack layer (GeoJSON in WGS 84) for ``n`` cracks."""
    import geopandas as gpd
    from shapely.geometry import LineString

    from geowarn.dashboard.mapdata import CRACK_PROPERTIES, crack_features
    from geowarn.workspace.sites import SurveyInfo

    rng = np.random.default_rng(1)
    x0, y0 = 500000.0 + rng.uniform(0, 400, n), 5200000.0 - rng.uniform(0, 400, n)
    lines = [
        LineString(np.c_[x + np.cumsum(rng.normal(0.05, 0.02, 30)), y + rng.normal(0, 0.02, 30)])
        for x, y in zip(x0, y0, strict=True)
    ]
    frame = gpd.GeoDataFrame(
        {"crack_id": range(1, n + 1), "change": "stable", **dict.fromkeys(CRACK_PROPERTIES, 0.1)},
        geometry=lines,
        crs="EPSG:32633",
    )
    frame["centerline"] = frame.geometry
    survey = SurveyInfo(1, date(2026, 5, 1), "processed", "", None, None, (0.1, -0.1), None)
    started = time.perf_counter()
    crack_features(frame, survey, "bench")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--tiles", type=int, default=300)
    parser.add_argument("--work", type=Path, default=Path(".bench"))
    parser.add_argument("--cracks", type=int, default=5000, help="cracks in the crack-layer timing")
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

    print(f"crack layer of {args.cracks:,} cracks (GeoJSON, WGS 84): {crack_layer_seconds(args.cracks):.2f} s")


if __name__ == "__main__":
    main()
