"""Evidence map: a small PNG of the orthomosaic around the alerting cracks, previous vs current outlines.

Only the window around the geometries is read, decimated by GDAL to the output size (overviews are
used when the file has them), so a multi-gigapixel orthomosaic costs a few hundred kilobytes of memory.
The picture never fails an alert: when the orthomosaic is missing or unreadable the outlines are
drawn on a plain background with a note saying so.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry, BaseMultipartGeometry

from geowarn.logs import log_event

logger = logging.getLogger(__name__)

#: Outline colours (BGR, as OpenCV draws): previous survey cyan, current survey red.
PREVIOUS_BGR = (255, 200, 0)
CURRENT_BGR = (40, 40, 230)
_BACKGROUND = 205
_Bounds = tuple[float, float, float, float]


def _bounds(geometries: Iterable[BaseGeometry]) -> _Bounds | None:
    boxes = [g.bounds for g in geometries if g is not None and not g.is_empty]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _square_extent(bounds: _Bounds | None, pad_m: float) -> _Bounds:
    """Square map extent around ``bounds`` padded by ``pad_m`` (at least 1 m wide)."""
    if bounds is None:
        return (0.0, 0.0, 1.0, 1.0)
    minx, miny, maxx, maxy = bounds
    side = max(maxx - minx, maxy - miny) + 2 * max(pad_m, 0.0)
    side = max(side, 1.0)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def _read_ortho(ortho: Path, extent: _Bounds, size_px: int) -> NDArray[np.uint8]:
    """RGB (size_px x size_px x 3) of ``extent``; grey where the orthomosaic has no data.

    Raises:
        Exception: anything rasterio raises; the caller falls back to a plain background.

    """
    import rasterio
    from rasterio.enums import ColorInterp, Resampling
    from rasterio.errors import WindowError
    from rasterio.windows import Window, from_bounds

    canvas = np.full((size_px, size_px, 3), _BACKGROUND, np.uint8)
    with rasterio.open(ortho) as src:
        if not src.transform.is_rectilinear or src.transform.a <= 0 or src.transform.e >= 0:
            raise ValueError(f"{ortho}: only north-up orthomosaics are drawn (transform {tuple(src.transform)[:6]})")
        full = from_bounds(*extent, transform=src.transform)
        try:
            visible = full.intersection(Window(0, 0, src.width, src.height))
        except WindowError:  # the cracks lie outside this orthomosaic
            return canvas
        scale_x, scale_y = size_px / full.width, size_px / full.height
        col0 = round((visible.col_off - full.col_off) * scale_x)
        row0 = round((visible.row_off - full.row_off) * scale_y)
        out_w = min(max(round(visible.width * scale_x), 1), size_px - col0)
        out_h = min(max(round(visible.height * scale_y), 1), size_px - row0)
        if out_w <= 0 or out_h <= 0:
            return canvas
        interp = list(src.colorinterp)
        if all(c in interp for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue)):
            bands = [interp.index(c) + 1 for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue)]
        else:
            bands = [1, 1, 1] if src.count < 3 else [1, 2, 3]
        data = src.read(bands, window=visible, out_shape=(3, out_h, out_w), resampling=Resampling.bilinear)
        valid = src.dataset_mask(window=visible, out_shape=(out_h, out_w)) > 0
    if data.dtype != np.uint8:
        values = data[:, valid] if valid.any() else data.reshape(3, -1)
        lo, hi = np.percentile(values, [1.0, 99.0]) if values.size else (0.0, 1.0)
        data = np.clip((data.astype(np.float32) - lo) * (255.0 / max(float(hi - lo), 1e-6)), 0, 255).astype(np.uint8)
    rgb = np.moveaxis(data, 0, -1)
    rgb[~valid] = _BACKGROUND
    canvas[row0 : row0 + out_h, col0 : col0 + out_w] = rgb
    return canvas


def _parts(geometry: BaseGeometry) -> list[BaseGeometry]:
    if isinstance(geometry, BaseMultipartGeometry):
        return [p for g in geometry.geoms for p in _parts(g)]
    return [geometry]


def _draw(
    image: NDArray[np.uint8],
    geometries: Sequence[BaseGeometry],
    extent: _Bounds,
    colour: tuple[int, int, int],
    width: int,
) -> None:
    size = image.shape[0]
    metres_per_px = (extent[2] - extent[0]) / size
    thickness = max(1, round(width * size / 256))

    def pixels(coords: Iterable[tuple[float, ...]]) -> NDArray[np.int32]:
        xy = np.asarray([(c[0], c[1]) for c in coords], np.float64).reshape(-1, 2)
        cols = (xy[:, 0] - extent[0]) / metres_per_px
        rows = (extent[3] - xy[:, 1]) / metres_per_px
        # sub-pixel precision: OpenCV takes fixed-point coordinates with 4 fractional bits
        return np.round(np.stack([cols, rows], axis=1) * 16).astype(np.int32).reshape(-1, 1, 2)

    for geometry in geometries:
        if geometry is None or geometry.is_empty:
            continue
        for part in _parts(geometry):
            kind = part.geom_type
            if kind == "Polygon":
                rings = [pixels(part.exterior.coords)] + [pixels(r.coords) for r in part.interiors]
                overlay = image.copy()
                cv2.fillPoly(overlay, rings, colour, cv2.LINE_AA, shift=4)
                cv2.addWeighted(overlay, 0.3, image, 0.7, 0, dst=image)
                cv2.polylines(image, rings, True, colour, thickness, cv2.LINE_AA, shift=4)
            elif kind in ("LineString", "LinearRing"):
                cv2.polylines(image, [pixels(part.coords)], False, colour, thickness, cv2.LINE_AA, shift=4)
            elif kind == "Point":
                centre = pixels(part.coords)[0, 0]
                cv2.circle(
                    image, (int(centre[0]), int(centre[1])), 4 * thickness * 16, colour, thickness, cv2.LINE_AA, 4
                )


def _nice_length(max_m: float) -> float:
    """Largest 1, 2 or 5 x 10^k not above ``max_m``."""
    exp = math.floor(math.log10(max_m))
    for step in (5, 2, 1):
        if step * 10**exp <= max_m:
            return float(step * 10**exp)
    return float(10**exp)


def _font_scale(size: int) -> float:
    return max(0.35, size / 1100)


def _label(
    image: NDArray[np.uint8], text: str, org: tuple[int, int], scale: float, colour: tuple[int, int, int]
) -> None:
    """Text on a white box, readable on any background."""
    thickness = max(1, round(scale * 2))
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = org
    cv2.rectangle(image, (x - 2, y - height - 2), (x + width + 2, y + baseline), (255, 255, 255), -1)
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)


def _scale_bar(image: NDArray[np.uint8], extent: _Bounds) -> None:
    size = image.shape[0]
    metres_per_px = (extent[2] - extent[0]) / size
    length_m = _nice_length(0.3 * size * metres_per_px)
    length_px = round(length_m / metres_per_px)
    margin, height = max(6, size // 40), max(3, size // 100)
    x0, y0 = margin, size - margin
    cv2.rectangle(image, (x0 - 2, y0 - height - 2), (x0 + length_px + 2, y0 + 2), (255, 255, 255), -1)
    cv2.rectangle(image, (x0, y0 - height), (x0 + length_px, y0), (0, 0, 0), -1)
    text = f"{length_m:g} m" if length_m >= 1 else f"{length_m * 100:g} cm"
    _label(image, text, (x0, y0 - height - margin // 2), _font_scale(size), (0, 0, 0))


def _legend(image: NDArray[np.uint8], note: str | None, labels: tuple[str, str]) -> None:
    size = image.shape[0]
    scale = _font_scale(size)
    step = max(12, round(size / 28))
    margin = max(6, size // 40)
    for i, (label, colour) in enumerate(zip(labels, (PREVIOUS_BGR, CURRENT_BGR), strict=True)):
        y = margin + step * (i + 1)
        cv2.line(image, (margin, y - step // 3), (margin + step, y - step // 3), colour, max(2, step // 6), cv2.LINE_AA)
        _label(image, label, (margin + step + step // 3, y), scale, (0, 0, 0))
    if note:
        _label(image, note, (margin, margin + step * 3), scale, (0, 0, 160))


def render_evidence_map(
    ortho: Path | None,
    previous: Sequence[BaseGeometry],
    current: Sequence[BaseGeometry],
    *,
    size_px: int = 512,
    pad_m: float = 1.0,
    labels: tuple[str, str] = ("previous survey", "current survey"),
) -> bytes:
    """PNG (``size_px`` square) of the orthomosaic around the cracks with previous and current outlines.

    Args:
        ortho: current orthomosaic; None, missing or unreadable gives a plain background.
        previous: crack centerlines/polygons of the previous survey, in the raster's CRS.
        current: the same cracks in the current survey (drawn on top).
        size_px: side of the square picture.
        pad_m: margin around the union of the geometries, in CRS units (metres).
        labels: legend texts of the previous and current outlines.

    Returns:
        PNG bytes; never raises for a bad orthomosaic or empty geometry lists.

    """
    size_px = max(int(size_px), 64)
    extent = _square_extent(_bounds([*previous, *current]), pad_m)
    note = None
    image: NDArray[np.uint8]
    if ortho is None:
        image, note = np.full((size_px, size_px, 3), _BACKGROUND, np.uint8), "no orthomosaic"
    else:
        try:
            image = np.ascontiguousarray(_read_ortho(Path(ortho), extent, size_px)[:, :, ::-1])  # RGB -> BGR
        except Exception as exc:  # the picture must never stop an alert
            log_event(
                logger, "evidence map drawn without orthomosaic", logging.WARNING, ortho=str(ortho), error=str(exc)
            )
            image, note = np.full((size_px, size_px, 3), _BACKGROUND, np.uint8), "orthomosaic unavailable"
    if not previous and not current:
        note = "no crack geometry" if note is None else f"{note}; no crack geometry"
    _draw(image, current, extent, CURRENT_BGR, width=2)
    _draw(image, previous, extent, PREVIOUS_BGR, width=1)  # on top and thinner: growth shows as red beyond cyan
    _scale_bar(image, extent)
    _legend(image, note, labels)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR image
        raise RuntimeError("OpenCV could not encode the evidence map as PNG")
    return encoded.tobytes()
