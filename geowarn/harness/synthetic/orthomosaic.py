"""Synthetic georeferenced orthomosaics of a cracked slope, written window by window.

Example:
    ``python -m geowarn.harness.synthetic.orthomosaic out.tif --width 4096 --height 4096 --seed 1``

"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import affine
import geopandas as gpd
import numpy as np
import rasterio
from numpy.typing import NDArray
from rasterio.windows import Window
from shapely.geometry import LineString

from geowarn.harness.synthetic.cracks import CrackSpec, crack_length_px, render_cracks
from geowarn.harness.synthetic.networks import (
    branch_crack,
    meandering_crack,
    random_crack_network,
    sparse_crack_network,
)
from geowarn.harness.synthetic.terrain import render_terrain_into, value_noise

__all__ = ["SyntheticScene", "demo_scene", "main", "make_orthomosaic"]

_DTYPES = {"uint8": 1, "uint16": 257}


@dataclass
class SyntheticScene:
    """A synthetic orthomosaic on disk and the truth geometry of its cracks.

    Attributes:
        path: GeoTIFF path.
        width: Width in pixels.
        height: Height in pixels.
        gsd_m: Ground sampling distance (pixel size) in metres.
        crs: CRS of the raster, e.g. ``"EPSG:32633"``.
        transform: Pixel-to-map affine transform (north-up).
        cracks: Truth cracks in pixel coordinates, in rendering order.
        seed: Seed the scene was generated with.

    """

    path: Path
    width: int
    height: int
    gsd_m: float
    crs: str
    transform: affine.Affine
    cracks: list[CrackSpec]
    seed: int = field(default=0)

    def truth_lines(self) -> gpd.GeoDataFrame:
        """Truth centrelines in map coordinates.

        Returns:
            GeoDataFrame with ``crack_index``, ``width_m``, ``length_m``, ``depth`` and LineString
            geometries in the scene CRS.

        """
        t = self.transform
        geoms, rows = [], []
        for i, c in enumerate(self.cracks):
            p = np.asarray(c.points, dtype=np.float64)
            x = t.a * p[:, 0] + t.b * p[:, 1] + t.c
            y = t.d * p[:, 0] + t.e * p[:, 1] + t.f
            geoms.append(LineString(np.column_stack([x, y])))
            rows.append(
                {
                    "crack_index": i,
                    "width_m": c.width_px * self.gsd_m,
                    "length_m": crack_length_px(c) * self.gsd_m,
                    "depth": c.depth,
                }
            )
        columns = ["crack_index", "width_m", "length_m", "depth"]
        return gpd.GeoDataFrame(rows, columns=columns, geometry=geoms, crs=self.crs)

    def save_truth(self, path: Path) -> None:
        """Write the truth lines to GeoPackage (``.gpkg``) or GeoJSON (any other suffix)."""
        path = Path(path)
        driver = "GPKG" if path.suffix.lower() == ".gpkg" else "GeoJSON"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        self.truth_lines().to_file(path, driver=driver)


def _valid_mask(row0: int, h: int, width: int, height: int, border: int, seed: int) -> NDArray[np.bool_]:
    """Valid (data) pixels of rows ``row0..row0+h`` inside an irregular no-data border."""
    spacing = max(8.0, 4.0 * border)
    rows = np.arange(row0, row0 + h)[:, None]
    cols = np.arange(width)[None, :]

    def edge(k: int, n: int) -> NDArray[np.float32]:
        e: NDArray[np.float32] = border * (0.4 + 1.2 * value_noise(k, 0, 1, n, spacing, seed * 8 + 1000 + k)[0])
        return e

    top, bottom = edge(0, width)[None, :], edge(1, width)[None, :]
    left, right = edge(2, height)[row0 : row0 + h, None], edge(3, height)[row0 : row0 + h, None]
    return (rows >= top) & (height - 1 - rows >= bottom) & (cols >= left) & (width - 1 - cols >= right)


def _default_n_cracks(width: int, height: int) -> int:
    return max(1, round(width * height / 600_000))


def make_orthomosaic(
    path: Path,
    width: int,
    height: int,
    *,
    gsd_m: float = 0.02,
    crs: str = "EPSG:32633",
    origin: tuple[float, float] = (500000.0, 5200000.0),
    seed: int = 0,
    cracks: Sequence[CrackSpec] | None = None,
    n_cracks: int | None = None,
    crack_tile_fraction: float | None = None,
    tile: int = 256,
    compress: str = "deflate",
    tiled: bool = True,
    blocksize: int = 256,
    alpha: bool = False,
    nodata_border_px: int = 0,
    dtype: str = "uint8",
    window_rows: int = 1024,
    progress: bool = False,
    photometric: str | None = None,
    jpeg_quality: int = 90,
) -> SyntheticScene:
    """Write a synthetic RGB(A) GeoTIFF of a cracked slope, full-width strip by strip.

    Args:
        path: Output GeoTIFF path.
        width: Width in pixels.
        height: Height in pixels.
        gsd_m: Pixel size in metres.
        crs: CRS of the raster.
        origin: Map coordinates ``(x, y)`` of the top-left corner.
        seed: Seed of the texture and of the cracks.
        cracks: Explicit cracks (pixel coordinates); overrides the two options below.
        n_cracks: Number of cracks of a random network (default grows with the area).
        crack_tile_fraction: Instead of ``n_cracks``, spread cracks so that about this fraction of
            the ``tile`` x ``tile`` tiles contain crack pixels (cheap for very large rasters).
        tile: Tile size used by ``crack_tile_fraction``.
        compress: GDAL compression (``"deflate"``, ``"lzw"``, ``"zstd"``, ``"jpeg"``, ``"none"``...).
        tiled: Tiled GeoTIFF, else striped.
        blocksize: Tile size when ``tiled``.
        alpha: Add an alpha band (RGBA).
        nodata_border_px: Width of an irregular no-data border (alpha 0, or value 0 with nodata=0).
        dtype: ``"uint8"`` or ``"uint16"`` (values scaled by 257).
        window_rows: Rows rendered and written per strip.
        progress: Show a progress bar on stderr.
        photometric: GeoTIFF photometric interpretation, e.g. ``"YCBCR"`` with JPEG (default RGB).
        jpeg_quality: JPEG quality when ``compress="jpeg"``.

    Returns:
        The scene, with the truth cracks.

    Raises:
        ValueError: On invalid sizes or options.

    """
    if width <= 0 or height <= 0 or window_rows <= 0:
        raise ValueError(f"width, height and window_rows must be positive, got {width}, {height}, {window_rows}")
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be 'uint8' or 'uint16', got {dtype!r}")
    comp = compress.lower()
    if comp == "jpeg" and dtype != "uint8":
        raise ValueError("JPEG compression needs dtype='uint8'")
    path = Path(path)
    transform = affine.Affine(gsd_m, 0.0, origin[0], 0.0, -gsd_m, origin[1])
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0xC2AC])
    margin = 1.6 * nodata_border_px + 2.0
    if cracks is not None:
        specs = list(cracks)
    elif crack_tile_fraction is not None:
        specs = sparse_crack_network(
            rng,
            width,
            height,
            tile=tile,
            fraction=crack_tile_fraction,
            rng_seed=seed,
            margin_px=margin,
            terrain_seed=seed,
        )
    else:
        n = _default_n_cracks(width, height) if n_cracks is None else n_cracks
        side = min(width, height)
        lengths = (min(150.0, 0.3 * side), max(min(600.0, 0.9 * max(width, height)), min(150.0, 0.3 * side)))
        bbox = (margin, margin, width - margin, height - margin)
        specs = random_crack_network(rng, bbox, n, length_range_px=lengths, terrain_seed=seed) if n > 0 else []

    count = 4 if alpha else 3
    profile: dict[str, object] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": dtype,
        "crs": crs,
        "transform": transform,
        "interleave": "pixel",
        "photometric": (photometric or "RGB").upper(),
        "tiled": tiled,
        "BIGTIFF": "IF_SAFER",
    }
    if tiled:
        profile.update(blockxsize=blocksize, blockysize=blocksize)
    if comp != "none":
        profile["compress"] = comp
        profile["NUM_THREADS"] = "ALL_CPUS"
    if comp == "jpeg":
        profile["JPEG_QUALITY"] = jpeg_quality
    if alpha:
        profile["ALPHA"] = "YES"
    elif nodata_border_px > 0:
        profile["nodata"] = 0
    scale = _DTYPES[dtype]

    path.parent.mkdir(parents=True, exist_ok=True)
    starts = range(0, height, window_rows)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=height, unit="row", desc=path.name, file=sys.stderr)
    with rasterio.Env(GDAL_CACHEMAX=256), rasterio.open(path, "w", **profile) as dst:
        for row0 in starts:
            h = min(window_rows, height - row0)
            buf = np.empty((count, h, width), dtype=np.uint8)
            render_terrain_into(buf[:3], 0, row0, seed)
            render_cracks(buf[:3].transpose(1, 2, 0), 0, row0, specs, seed)
            if alpha:
                buf[3] = 255
            if nodata_border_px > 0:
                invalid = ~_valid_mask(row0, h, width, height, nodata_border_px, seed)
                buf[:, invalid] = 0
            out: NDArray[np.generic] = buf if scale == 1 else buf.astype(np.uint16) * np.uint16(scale)
            dst.write(out, window=Window(0, row0, width, h))
            del buf, out
            if bar is not None:
                bar.update(h)
        dst.update_tags(GEOWARN_SYNTHETIC_SEED=str(seed), GEOWARN_SYNTHETIC_CRACKS=str(len(specs)))
    if bar is not None:
        bar.close()
    return SyntheticScene(
        path=path,
        width=width,
        height=height,
        gsd_m=gsd_m,
        crs=crs,
        transform=transform,
        cracks=specs,
        seed=seed,
    )


def _demo_network(seed: int, size: int) -> list[CrackSpec]:
    """Tension-crack network of the demo scene: one long crack with a branch, and a few others."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0xDE70])
    bbox = (40.0, 40.0, size - 40.0, size - 40.0)
    long_crack = None
    for _ in range(20):
        cand = meandering_crack(
            rng,
            (rng.uniform(0.35, 0.65) * size, rng.uniform(0.3, 0.45) * size),
            rng.normal(0.0, 0.08),
            rng.uniform(0.62, 0.75) * size,
            rng.uniform(8.0, 11.0),
            bbox,
            depth=0.8,
            terrain_seed=seed,
        )
        if long_crack is None or crack_length_px(cand) > crack_length_px(long_crack):
            long_crack = cand
        if crack_length_px(cand) > 0.55 * size:
            break
    assert long_crack is not None
    branch = branch_crack(rng, long_crack, bbox, (4.0, 8.0), terrain_seed=seed)
    # The rest stays off the band of the long crack so that the cracks do not pile up.
    lower = (bbox[0], 0.58 * size, bbox[2], bbox[3])
    upper = (bbox[0], bbox[1], bbox[2], 0.25 * size)
    others = random_crack_network(rng, lower, 4, (3.0, 12.0), (250.0, 750.0), terrain_seed=seed)
    others += random_crack_network(rng, upper, 2, (3.0, 7.0), (200.0, 600.0), terrain_seed=seed)
    return [long_crack, branch, *others]


def demo_scene(path: Path, seed: int = 2026) -> SyntheticScene:
    """Write the README demo scene: 2048 x 2048 px at 2 cm GSD in EPSG:32633.

    The network has 8 tension cracks 3 to 12 px wide: one longer than 1000 px with a branch, the
    others in the lower and upper parts of the scene, several crossing 256-px tile seams.

    Args:
        path: Output GeoTIFF path.
        seed: Scene seed.

    Returns:
        The scene with its truth cracks.

    """
    size = 2048
    return make_orthomosaic(path, size, size, gsd_m=0.02, crs="EPSG:32633", seed=seed, cracks=_demo_network(seed, size))


def main(argv: list[str] | None = None) -> None:
    """Command line: write a synthetic orthomosaic and print a one-line summary."""
    ap = argparse.ArgumentParser(prog="python -m geowarn.harness.synthetic.orthomosaic", description=__doc__)
    ap.add_argument("out", type=Path, help="output GeoTIFF")
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--height", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gsd", type=float, default=0.02, help="pixel size in metres")
    ap.add_argument("--crs", default="EPSG:32633")
    ap.add_argument("--n-cracks", type=int, default=None)
    ap.add_argument("--crack-tile-fraction", type=float, default=None)
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--compress", default="deflate")
    ap.add_argument("--striped", action="store_true", help="striped instead of tiled")
    ap.add_argument("--alpha", action="store_true")
    ap.add_argument("--nodata-border", type=int, default=0)
    ap.add_argument("--dtype", default="uint8", choices=sorted(_DTYPES))
    ap.add_argument("--truth", type=Path, default=None, help="also write truth lines (.geojson/.gpkg)")
    ap.add_argument(
        "--demo", action="store_true", help="write the demo scene (ignores the size, crack and file options)"
    )
    ap.add_argument("--progress", action="store_true")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    if a.demo:
        scene = demo_scene(a.out, seed=a.seed)
    else:
        scene = make_orthomosaic(
            a.out,
            a.width,
            a.height,
            gsd_m=a.gsd,
            crs=a.crs,
            seed=a.seed,
            n_cracks=a.n_cracks,
            crack_tile_fraction=a.crack_tile_fraction,
            tile=a.tile,
            compress=a.compress,
            tiled=not a.striped,
            alpha=a.alpha,
            nodata_border_px=a.nodata_border,
            dtype=a.dtype,
            progress=a.progress,
        )
    if a.truth is not None:
        scene.save_truth(a.truth)
    dt = time.perf_counter() - t0
    total = sum(crack_length_px(c) for c in scene.cracks) * scene.gsd_m
    print(
        f"{scene.path}: {scene.width}x{scene.height} px, {scene.gsd_m} m/px, {scene.crs}, "
        f"{len(scene.cracks)} cracks ({total:.1f} m), {dt:.1f} s ({scene.width * scene.height / dt / 1e6:.1f} Mpx/s)"
    )


if __name__ == "__main__":
    main()
