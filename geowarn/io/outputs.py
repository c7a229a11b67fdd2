"""Output rasters: written strip by strip into tiled GeoTIFFs, then converted to COGs."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import numpy as np
import rasterio
import rasterio.shutil
from numpy.typing import NDArray
from rasterio.windows import Window

from geowarn.io.raster import RasterInfo

#: Value of ``crack_mask.tif`` where the input has no data.
MASK_NODATA = 255


class StripWriter:
    """Single-band uint8 GeoTIFF on the input's grid, filled with full-width row strips.

    All-zero blocks are not written (sparse file), which keeps crack-free areas nearly free.
    """

    def __init__(self, path: Path, info: RasterInfo, nodata: int | None = None, internal_mask: bool = False) -> None:
        self.path = path
        self.internal_mask = internal_mask
        self._ds = rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=info.width,
            height=info.height,
            count=1,
            dtype="uint8",
            crs=info.crs_wkt,
            transform=info.transform,
            nodata=nodata,
            tiled=True,
            blockxsize=256,
            blockysize=256,
            compress="deflate",
            zlevel=1,
            sparse_ok=True,
            bigtiff="IF_SAFER",
        )

    def write(self, row0: int, data: NDArray[np.uint8], valid: NDArray[np.bool_] | None = None) -> None:
        """Write rows ``row0 .. row0 + len(data)``; ``valid`` feeds the internal mask."""
        window = Window(0, row0, data.shape[1], data.shape[0])
        self._ds.write(data, 1, window=window)
        if self.internal_mask and valid is not None:
            self._ds.write_mask(np.where(valid, 255, 0).astype(np.uint8), window=window)

    def close(self) -> None:
        self._ds.close()

    def __enter__(self) -> StripWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def to_cog(src: Path, dst: Path, resampling: str) -> None:
    """Copy ``src`` to a Cloud-Optimized GeoTIFF with overviews (DEFLATE, 512-px blocks)."""
    rasterio.shutil.copy(
        src,
        dst,
        driver="COG",
        COMPRESS="DEFLATE",
        BLOCKSIZE=512,
        OVERVIEW_RESAMPLING=resampling,
        NUM_THREADS="ALL_CPUS",
        BIGTIFF="IF_SAFER",
        SPARSE_OK="TRUE",
    )
