"""Open and validate orthomosaic GeoTIFFs; read RGB windows with their validity masks.

Accepted: GeoTIFF/COG, striped or tiled, any GDAL compression, RGB or RGBA, uint8 or uint16
(uint16 is stretched to uint8 from 0.5/99.5 percentiles of an overview-level read), with nodata
values, alpha bands or internal masks marking no-data pixels.

Geographic CRSs (degrees) are refused rather than reprojected on the fly: every output must be
aligned to the input grid, and a degree grid cannot carry metre measurements without
resampling. The error gives the exact ``gdalwarp`` command that reprojects to the local UTM zone.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import rasterio
from affine import Affine
from numpy.typing import NDArray
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from geowarn.errors import ConfigError, GeowarnError, InvalidRasterError, UnsupportedCRSError

#: Pixel sizes outside this range (metres) cannot be a UAV orthomosaic usable for cracks.
MIN_GSD_M = 1e-4
MAX_GSD_M = 1.0
#: Rasters smaller than this on a side carry no usable crack context.
MIN_SIDE_PX = 16
SUPPORTED_DTYPES = ("uint8", "uint16")
#: Largest orthomosaic accepted by default (pixels): 4 gigapixels, e.g. 63,000 x 63,000 px, about
#: 12 GB of RGB; larger ones are refused before anything is read, unless the limit is raised.
DEFAULT_MAX_PIXELS = 4e9
#: Environment variable raising (or lowering) the limit for every command.
MAX_PIXELS_ENV = "GEOWARN_MAX_PIXELS"
#: Blocks sampled to find a valid pixel before reading the whole mask at low resolution.
_SAMPLE_GRID = 8


@dataclass(frozen=True)
class RasterInfo:
    """What the pipeline needs to know about a validated orthomosaic."""

    path: Path
    width: int
    height: int
    count: int
    dtype: str
    crs_wkt: str
    crs_name: str
    epsg: int | None
    transform: Affine
    metres_per_unit: float
    scale_factor: float
    gsd_m: float
    block_shape: tuple[int, int]
    rgb_bands: tuple[int, int, int]
    alpha_band: int | None
    nodata: float | None
    has_mask: bool
    compression: str | None
    tiled: bool
    stretch: tuple[tuple[float, float], ...] | None = field(default=None)

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly metadata for provenance."""
        return {
            "path": str(self.path),
            "width": self.width,
            "height": self.height,
            "count": self.count,
            "dtype": self.dtype,
            "crs": self.crs_name,
            "epsg": self.epsg,
            "transform": list(self.transform)[:6],
            "gsd_m": self.gsd_m,
            "projection_scale_factor": self.scale_factor,
            "block_shape": list(self.block_shape),
            "rgb_bands": list(self.rgb_bands),
            "alpha_band": self.alpha_band,
            "nodata": self.nodata,
            "has_mask": self.has_mask,
            "compression": self.compression,
            "tiled": self.tiled,
            "uint16_stretch": [list(s) for s in self.stretch] if self.stretch else None,
        }


def _utm_epsg(lon: float, lat: float) -> int:
    zone = min(max(int((lon + 180.0) // 6.0) + 1, 1), 60)
    return (32600 if lat >= 0 else 32700) + zone


def _fail(path: Path, problem: str, fix: str) -> InvalidRasterError:
    return InvalidRasterError(" ".join(f"{path}: {problem}. Fix: {fix}".splitlines()))


def _projection_scale(src: rasterio.io.DatasetReader) -> float:
    """Linear scale factor of the projection at the raster centre (map metres per ground metre).

    UTM is within 0.1% of 1; Web/World Mercator reaches 1.5 at 48° latitude, which would
    inflate every length and width by 50% if ignored.
    """
    try:
        lon, lat = src.lnglat()
        factors = pyproj.Proj(src.crs.to_wkt()).get_factors(lon, lat)
        scale = math.sqrt(float(factors.areal_scale))
    except (pyproj.exceptions.ProjError, pyproj.exceptions.CRSError, ValueError):
        return 1.0
    return scale if math.isfinite(scale) and scale > 0 else 1.0


def _check_georeferencing(path: Path, src: rasterio.io.DatasetReader) -> tuple[float, float, float]:
    """Validate CRS and transform; return (ground metres per CRS unit, scale factor, GSD in m).

    The GSD is the ground size of a pixel: CRS units converted to metres and divided by the
    projection's scale factor at the raster centre.
    """
    if src.crs is None:
        if src.gcps[0]:
            raise _fail(
                path,
                "has ground control points but no geotransform or CRS",
                f'rectify it first, e.g. gdalwarp -t_srs EPSG:<utm> "{path}" "{path.with_suffix("")}_rect.tif"',
            )
        raise _fail(
            path,
            "has no coordinate reference system (CRS)",
            f'assign the CRS the survey was processed in, e.g. gdal_edit.py -a_srs EPSG:32633 "{path}"',
        )
    transform = src.transform
    if transform.is_identity or src.transform == Affine(1, 0, 0, 0, 1, 0):
        raise _fail(
            path,
            "has no geotransform (pixel coordinates only)",
            "export the orthomosaic as a georeferenced GeoTIFF from the photogrammetry software, "
            f'or set the corners with gdal_edit.py -a_ullr ULX ULY LRX LRY "{path}"',
        )
    if src.crs.is_geographic:
        lon, lat = src.lnglat()
        epsg = _utm_epsg(lon, lat)
        out = path.with_name(f"{path.stem}_epsg{epsg}.tif")
        raise UnsupportedCRSError(
            f"{path}: CRS {src.crs.to_string()} is geographic (degrees); crack lengths and widths "
            "need a projected CRS in metres and outputs must stay on the input grid, so geowarn "
            f"does not reproject on the fly. Fix: reproject once to the local UTM zone: "
            f'gdalwarp -t_srs EPSG:{epsg} -r bilinear -co TILED=YES -co COMPRESS=DEFLATE "{path}" "{out}"'
        )
    units = src.crs.linear_units_factor
    scale = _projection_scale(src)
    metres_per_unit = (float(units[1]) if units else 1.0) / scale
    xres = math.hypot(transform.a, transform.d) * metres_per_unit
    yres = math.hypot(transform.b, transform.e) * metres_per_unit
    gsd = math.sqrt(abs(transform.determinant)) * metres_per_unit
    if not (math.isfinite(gsd) and MIN_GSD_M <= gsd <= MAX_GSD_M):
        raise _fail(
            path,
            f"pixel size {gsd:.6g} m is outside the range of UAV orthomosaics "
            f"({MIN_GSD_M:g}–{MAX_GSD_M:g} m); the geotransform or CRS units are probably wrong",
            "check the georeferencing (gdalinfo), or resample to the survey resolution with "
            f'gdalwarp -tr 0.02 0.02 "{path}" out.tif',
        )
    if max(xres, yres) > 2.0 * min(xres, yres):
        raise _fail(
            path,
            f"pixels are not square ({xres:.4g} m x {yres:.4g} m)",
            f"resample to square pixels, e.g. gdalwarp -tr {min(xres, yres):.4g} {min(xres, yres):.4g} "
            f'"{path}" out.tif',
        )
    return metres_per_unit, scale, gsd


def _band_layout(path: Path, src: rasterio.io.DatasetReader) -> tuple[tuple[int, int, int], int | None]:
    if src.count < 3:
        kind = "single-band (grayscale, DEM or mask?)" if src.count == 1 else f"{src.count}-band"
        raise _fail(
            path,
            f"is {kind}; crack detection needs an RGB or RGBA orthomosaic",
            "pass the RGB orthomosaic exported by the photogrammetry software, not a DEM or a single channel",
        )
    interp = list(src.colorinterp)
    alpha = interp.index(ColorInterp.alpha) + 1 if ColorInterp.alpha in interp else None
    if all(c in interp for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue)):
        rgb = tuple(interp.index(c) + 1 for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue))
    else:
        rgb = tuple(b for b in range(1, src.count + 1) if b != alpha)[:3]
    if alpha is None and src.count == 4 and interp[3] == ColorInterp.undefined:
        alpha = 4  # RGBA written without colour interpretation
    return (rgb[0], rgb[1], rgb[2]), alpha


def _check_readable(path: Path, src: rasterio.io.DatasetReader) -> None:
    """Read the first and last blocks: truncated files fail here instead of mid-run."""
    bh, bw = src.block_shapes[0]
    last = Window(
        (src.width - 1) // bw * bw,
        (src.height - 1) // bh * bh,
        src.width - (src.width - 1) // bw * bw,
        src.height - (src.height - 1) // bh * bh,
    )
    try:
        src.read(1, window=Window(0, 0, min(bw, src.width), min(bh, src.height)))
        src.read(1, window=last)
    except RasterioError as exc:
        raise _fail(
            path,
            f"cannot be read to the end, it is truncated or corrupt ({exc})",
            "copy the file again from the processing machine and check its size",
        ) from exc


def _uint16_stretch(src: rasterio.io.DatasetReader, bands: tuple[int, int, int]) -> tuple[tuple[float, float], ...]:
    """0.5/99.5 percentiles per band from a reduced-resolution read (overviews if present)."""
    scale = max(src.width, src.height) / 1024
    shape = (max(1, int(src.height / max(scale, 1))), max(1, int(src.width / max(scale, 1))))
    data = src.read(indexes=list(bands), out_shape=(3, *shape))
    valid = src.dataset_mask(out_shape=shape) > 0
    ranges = []
    for band in data:
        values = band[valid] if valid.any() else band.ravel()
        lo, hi = np.percentile(values, [0.5, 99.5]) if values.size else (0.0, 65535.0)
        ranges.append((float(lo), float(max(hi, lo + 1))))
    return tuple(ranges)


def max_pixels_limit(max_pixels: float | None = None) -> float:
    """The size limit: ``max_pixels`` if given, else ``$GEOWARN_MAX_PIXELS``, else :data:`DEFAULT_MAX_PIXELS`.

    Raises:
        ConfigError: ``$GEOWARN_MAX_PIXELS`` is not a positive number.

    """
    if max_pixels is not None:
        return float(max_pixels)
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{MAX_PIXELS_ENV}={text!r} is not a positive number of pixels; e.g. {MAX_PIXELS_ENV}=1e10")
    return value


def _check_size(path: Path, src: rasterio.io.DatasetReader, limit: float) -> None:
    pixels = src.width * src.height
    if pixels > limit:
        raise _fail(
            path,
            f"is {src.width:,} x {src.height:,} px ({pixels / 1e9:.3g} gigapixels), over the limit of "
            f"{limit / 1e9:.3g} gigapixels",
            "check the file (a corrupt header can claim any size); split a real orthomosaic of this size into "
            f"parts (gdal_retile.py), or raise the limit: --max-pixels {pixels:.3g}, max_pixels in the detect "
            f"settings, or {MAX_PIXELS_ENV}={pixels:.3g}",
        )


def _has_valid_pixels(src: rasterio.io.DatasetReader) -> bool:
    """Whether any pixel is valid: up to 64 sampled blocks first, then the whole mask at low resolution."""
    bh, bw = src.block_shapes[0]
    rows = sorted({min(i * src.height // _SAMPLE_GRID, src.height - 1) // bh * bh for i in range(_SAMPLE_GRID)})
    cols = sorted({min(i * src.width // _SAMPLE_GRID, src.width - 1) // bw * bw for i in range(_SAMPLE_GRID)})
    for row in rows:
        for col in cols:
            window = Window(col, row, min(bw, src.width - col), min(bh, src.height - row))
            if src.dataset_mask(window=window).any():
                return True
    scale = max(src.width, src.height) / 512
    shape = (max(1, int(src.height / max(scale, 1))), max(1, int(src.width / max(scale, 1))))
    return bool(src.dataset_mask(out_shape=shape).any())


def open_orthomosaic(path: Path | str, *, max_pixels: float | None = None) -> RasterInfo:
    """Validate ``path`` as an orthomosaic and describe it.

    ``max_pixels``: the largest raster accepted (see :func:`max_pixels_limit`), checked before anything
    is read, so a header claiming an absurd size is refused at once.

    Raises:
        InvalidRasterError: with the file, the problem and the fix, for any unusable input.
        ConfigError: ``$GEOWARN_MAX_PIXELS`` is not a number.

    """
    limit = max_pixels_limit(max_pixels)
    path = Path(path)
    if not path.exists():
        raise _fail(path, "does not exist", "check the path (and that the survey was copied completely)")
    if path.is_dir():
        raise _fail(path, "is a directory, not a raster file", "pass the orthomosaic .tif inside it")
    if path.stat().st_size == 0:
        raise _fail(path, "is empty (0 bytes)", "copy the orthomosaic again; the transfer did not complete")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # reported below as an error
            src = rasterio.open(path)
    except Exception as exc:  # RasterioIOError, or any error of a header GDAL chokes on
        raise _fail(
            path,
            f"is not a readable raster ({' '.join(str(exc).split())[:300]})",
            "pass a GeoTIFF/COG orthomosaic; convert others with gdal_translate -of COG IN OUT.tif",
        ) from exc
    with src:
        try:
            return _describe(path, src, limit)
        except GeowarnError:
            raise
        except Exception as exc:  # a damaged header makes GDAL, rasterio or PROJ fail anywhere
            raise _fail(
                path,
                f"has a header that cannot be used ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})",
                "export the orthomosaic again as a GeoTIFF/COG; gdalinfo shows what is wrong with it",
            ) from exc


def _describe(path: Path, src: rasterio.io.DatasetReader, limit: float) -> RasterInfo:
    """Every check of :func:`open_orthomosaic` on the open file, then its description."""
    _check_size(path, src, limit)
    if src.width < MIN_SIDE_PX or src.height < MIN_SIDE_PX:
        raise _fail(
            path,
            f"is {src.width} x {src.height} px, too small to hold cracks",
            f"pass an orthomosaic of at least {MIN_SIDE_PX} x {MIN_SIDE_PX} px",
        )
    rgb, alpha = _band_layout(path, src)
    dtype = src.dtypes[rgb[0] - 1]
    if dtype not in SUPPORTED_DTYPES:
        raise _fail(
            path,
            f"has data type {dtype}; orthomosaics must be uint8 or uint16",
            f'convert with gdal_translate -ot Byte -scale "{path}" out.tif',
        )
    metres_per_unit, scale, gsd = _check_georeferencing(path, src)
    _check_readable(path, src)
    flags = src.mask_flag_enums
    has_mask = (
        alpha is not None
        or src.nodata is not None
        or any(rasterio.enums.MaskFlags.per_dataset in f and rasterio.enums.MaskFlags.alpha not in f for f in flags)
    )
    try:
        has_data = not has_mask or _has_valid_pixels(src)
    except RasterioError as exc:
        raise _fail(path, f"cannot be read ({exc}), it is truncated or corrupt", "copy the file again") from exc
    if not has_data:
        what = f"nodata value {src.nodata:g}" if src.nodata is not None else "alpha band or mask"
        raise _fail(
            path,
            f"has no valid pixel: every pixel is no-data (by its {what})",
            "export the orthomosaic again, or fix its no-data setting (gdalinfo shows it; "
            f'gdal_edit.py -unsetnodata "{path}" removes a wrong one)',
        )
    epsg = src.crs.to_epsg()
    return RasterInfo(
        path=path,
        width=src.width,
        height=src.height,
        count=src.count,
        dtype=dtype,
        crs_wkt=src.crs.to_wkt(),
        crs_name=f"EPSG:{epsg}" if epsg else src.crs.to_string(),
        epsg=epsg,
        transform=src.transform,
        metres_per_unit=metres_per_unit,
        scale_factor=scale,
        gsd_m=gsd,
        block_shape=src.block_shapes[0],
        rgb_bands=rgb,
        alpha_band=alpha,
        nodata=src.nodata,
        has_mask=has_mask,
        compression=src.compression.value.lower() if src.compression else None,
        tiled=src.profile.get("tiled", False),
        stretch=_uint16_stretch(src, rgb) if dtype == "uint16" else None,
    )


def read_rgb_window(
    src: rasterio.io.DatasetReader, info: RasterInfo, window: Window
) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """Read ``window`` as (H x W x 3 uint8 RGB, H x W validity mask).

    Raises:
        InvalidRasterError: when the file cannot be decoded there (truncated/corrupt blocks).

    """
    try:
        data = src.read(indexes=list(info.rgb_bands), window=window)
        valid = src.dataset_mask(window=window) > 0 if info.has_mask else np.ones(data.shape[1:], bool)
    except RasterioError as exc:
        raise _fail(
            info.path,
            f"cannot be decoded at {window} ({exc}); the file is truncated or corrupt",
            "copy the file again from the processing machine",
        ) from exc
    if info.stretch is not None:
        out = np.empty(data.shape, np.uint8)
        for i, (lo, hi) in enumerate(info.stretch):
            out[i] = np.clip((data[i].astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
        data = out
    return np.ascontiguousarray(np.moveaxis(data, 0, -1)), valid
