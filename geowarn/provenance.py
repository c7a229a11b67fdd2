"""Provenance: file hashes and the ``run.json`` manifest that every run writes."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from geowarn.version import __version__


def sha256_file(path: Path, chunk_size: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks (hashlib releases the GIL on large chunks)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def environment() -> dict[str, Any]:
    """Versions of geowarn and the libraries that shape its results."""
    import rasterio
    import torch
    import torchvision

    return {
        "geowarn": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "cpu_count": os.cpu_count(),
    }


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON through a temporary file and rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def utc_now() -> str:
    """ISO 8601 UTC timestamp with seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
