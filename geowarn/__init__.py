"""geowarn: landslide early warning from UAV orthomosaics.

The Python API (the command line is a thin layer over it)::

    import geowarn

    found = geowarn.detect("survey.tif")                 # cracks in one orthomosaic
    found.cracks                                         # GeoDataFrame: polygons, metres, uncertainties
    with geowarn.Workspace("geowarn-data") as ws:        # sites, surveys, monitoring, alerts
        ws.add_site("north-slope", config="site.yaml")
        ws.add_survey("north-slope", "flight.tif", "2026-05-01")
        print(ws.monitor())
        ws.crack_history("north-slope", 1)
    geowarn.load_settings("config/detect.yaml", kind="detect")

- :func:`detect` → :class:`Detection`: ``cracks`` and ``centerlines`` (GeoDataFrames in the raster's
  CRS), ``probability_path``, ``mask_path`` and ``summary`` (the run record).
- :class:`Workspace`: ``add_site``, ``configure_site``, ``sites``, ``site``, ``add_survey``, ``retry_survey``,
  ``replace_survey``, ``remove_survey``, ``surveys``, ``monitor``, ``cracks``, ``crack_history``,
  ``alerts``, ``acknowledge``, ``deliveries``, ``flush_outbox``, ``queue_reminders``.
- :func:`load_settings`: any settings file, validated, with one error format.
- Errors: every one is a :class:`GeowarnError` and the matching builtin (``ConfigError`` is a
  ``ValueError``...).

The API is imported on first use, so ``import geowarn`` stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from geowarn.errors import (
    ConfigError,
    GeowarnError,
    InvalidRasterError,
    ModelError,
    OutputError,
    UnsupportedCRSError,
    WeightsChecksumError,
)
from geowarn.version import __version__

if TYPE_CHECKING:
    from geowarn.api import Detection, Workspace, detect, load_settings

#: The API names and the module each comes from (imported on first use).
_API = {
    "Detection": "geowarn.api.detection",
    "detect": "geowarn.api.detection",
    "load_settings": "geowarn.api.settings",
    "Workspace": "geowarn.api.workspace",
}

__all__ = [
    "ConfigError",
    "Detection",
    "GeowarnError",
    "InvalidRasterError",
    "ModelError",
    "OutputError",
    "UnsupportedCRSError",
    "WeightsChecksumError",
    "Workspace",
    "__version__",
    "detect",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'geowarn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
