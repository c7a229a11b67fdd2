"""A raster opened on first use and kept open; None where it cannot be read (with one warning)."""

from __future__ import annotations

import logging
from pathlib import Path

import rasterio
from rasterio.io import DatasetReader


class LazyRaster:
    """``path`` opened on the first ``get``; ``purpose`` says in the warning (on ``log``) what goes without it."""

    def __init__(self, path: Path | None, purpose: str, log: logging.Logger) -> None:
        self.path, self.purpose, self.log, self._failed = path, purpose, log, path is None
        self._src: DatasetReader | None = None

    def get(self) -> DatasetReader | None:
        if self._src is None and not self._failed and self.path is not None:
            try:
                self._src = rasterio.open(self.path)
            except (OSError, rasterio.errors.RasterioError) as exc:
                self.log.warning("%s without %s, unreadable: %s", self.purpose, self.path, exc)
                self._failed = True
        return self._src

    def close(self) -> None:
        if self._src is not None:
            self._src.close()
            self._src = None
