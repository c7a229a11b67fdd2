"""Web map tiles (256 px, Web Mercator) read from survey rasters with rio-tiler.

Only the window of the requested tile is read (from the COG's overviews at low zoom), never the
whole raster. Tiles outside a raster are transparent. Rasters are named by database ids, never by
a path from the request, so a tile route cannot read any other file.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from functools import cache

from PIL import Image
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

#: Zoom levels served.
MIN_ZOOM, MAX_ZOOM = 0, 26
TILE_SIZE = 256
#: Levels served below a raster's own minimum zoom (where its coarsest overview fills a tile); further out
#: a tile would need more pixels than the overviews hold, so it is left empty.
ZOOM_OUT_LEVELS = 2
#: Probability overlay (uint8, probability x 255): transparent below 0.3, then yellow to red.
_PROB_RAMP = ((77, (255, 235, 59, 0)), (128, (255, 193, 7, 150)), (191, (255, 87, 34, 190)), (256, (198, 40, 40, 220)))


def _probability_colormap() -> dict[int, tuple[int, int, int, int]]:
    colours: dict[int, tuple[int, int, int, int]] = {}
    start = 0
    for stop, colour in _PROB_RAMP:
        colours.update(dict.fromkeys(range(start, stop), colour))
        start = stop
    return colours


PROBABILITY_COLORMAP = _probability_colormap()


#: Rasters kept open per worker thread (a rasterio dataset must not be shared between threads).
OPEN_PER_THREAD = 8
_local = threading.local()


def _reader(path: str) -> Reader:
    """The open reader of ``path`` in the calling thread (opening a COG costs more than reading one tile from it)."""
    readers: OrderedDict[str, Reader] = _local.__dict__.setdefault("readers", OrderedDict())
    reader = readers.pop(path, None) or Reader(path)
    readers[path] = reader
    while len(readers) > OPEN_PER_THREAD:
        readers.popitem(last=False)[1].close()
    return reader


@cache
def empty_tile() -> bytes:
    """A fully transparent tile (PNG)."""
    out = io.BytesIO()
    Image.new("RGBA", (TILE_SIZE, TILE_SIZE), (0, 0, 0, 0)).save(out, format="PNG")
    return out.getvalue()


def render_tile(path: str, x: int, y: int, z: int, *, probability: bool = False) -> bytes:
    """Tile ``z/x/y`` of raster ``path`` as PNG: RGB with its no-data transparent, or the coloured probability."""
    if not MIN_ZOOM <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        return empty_tile()
    reader = _reader(path)
    if z < reader.minzoom - ZOOM_OUT_LEVELS or not reader.tile_exists(x, y, z):
        return empty_tile()
    try:
        image = reader.tile(x, y, z, tilesize=TILE_SIZE, indexes=1 if probability else (1, 2, 3))
    except TileOutsideBounds:
        return empty_tile()
    if probability:
        return bytes(image.render(img_format="PNG", colormap=PROBABILITY_COLORMAP))
    return bytes(image.render(img_format="PNG"))
