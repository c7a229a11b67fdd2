"""Output rasters: written strip by strip into tiled GeoTIFFs, then converted to COGs."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
import rasterio
import rasterio.shutil
from numpy.typing import NDArray
from rasterio.transform import Affine
from rasterio.windows import Window

from geowarn.io.raster import RasterInfo

#: Value of ``crack_mask.tif`` where the input has no data.
MASK_NODATA = 255
PROB_NAME = "crack_prob.tif"
MASK_NAME = "crack_mask.tif"
GPKG_NAME = "cracks.gpkg"


class StripWriter:
    """Single-band uint8 GeoTIFF on the input's grid, filled with full-width row strips.

    ``rows`` (first, stop) makes it a part holding only those raster rows; ``write`` still takes
    raster row numbers. All-zero blocks are not written (sparse file), which keeps crack-free
    areas nearly free.
    """

    def __init__(
        self,
        path: Path,
        info: RasterInfo,
        nodata: int | None = None,
        internal_mask: bool = False,
        rows: tuple[int, int] | None = None,
    ) -> None:
        self.path = path
        self.internal_mask = internal_mask
        self.first, stop = rows or (0, info.height)
        self._ds = rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=info.width,
            height=stop - self.first,
            count=1,
            dtype="uint8",
            crs=info.crs_wkt,
            transform=info.transform * Affine.translation(0, self.first),
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
        window = Window(0, row0 - self.first, data.shape[1], data.shape[0])
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


class CrackRasters:
    """The probability and mask GeoTIFFs of a run, or of a part of its rows.

    ``crack_prob.tif`` and ``crack_mask.tif`` in ``folder``, names prefixed by ``prefix``; ``rows``
    (first, stop) limits them to those raster rows.
    """

    def __init__(self, folder: Path, info: RasterInfo, rows: tuple[int, int] | None = None, prefix: str = "") -> None:
        self.prob_path, self.mask_path = folder / (prefix + PROB_NAME), folder / (prefix + MASK_NAME)
        self._prob = StripWriter(self.prob_path, info, internal_mask=info.has_mask, rows=rows)
        try:
            self._mask = StripWriter(self.mask_path, info, nodata=MASK_NODATA, rows=rows)
        except BaseException:
            self._prob.close()
            raise

    def write(self, row0: int, prob: NDArray[np.float32], valid: NDArray[np.bool_], crack: NDArray[np.bool_]) -> None:
        """Write finished rows from ``row0``: probability x 255, crack 0/1 and no-data 255."""
        self._prob.write(row0, np.asarray(cv2.convertScaleAbs(prob, alpha=255.0), dtype=np.uint8), valid)
        mask = crack.view(np.uint8) if bool(valid.all()) else np.where(valid, crack, MASK_NODATA).astype(np.uint8)
        self._mask.write(row0, mask)

    def write_bytes(
        self, row0: int, prob: NDArray[np.uint8], valid: NDArray[np.bool_], mask: NDArray[np.uint8]
    ) -> None:
        """Write rows already encoded (as read back from a part)."""
        self._prob.write(row0, prob, valid)
        self._mask.write(row0, mask)

    def close(self) -> None:
        try:
            self._prob.close()
        finally:
            self._mask.close()

    def __enter__(self) -> CrackRasters:
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
