"""Exception hierarchy: every error is a ``GeowarnError`` and also the matching builtin."""

from __future__ import annotations


class GeowarnError(Exception):
    """Root of all geowarn errors; messages say what failed, the value and the fix."""


class InvalidRasterError(GeowarnError, ValueError):
    """An input raster cannot be used (unreadable, no georeferencing, wrong bands...)."""


class UnsupportedCRSError(InvalidRasterError):
    """The raster's CRS cannot give measurements in metres."""


class ConfigError(GeowarnError, ValueError):
    """A configuration file or option is invalid."""


class ModelError(GeowarnError, RuntimeError):
    """A model is unknown, or its weights are missing or corrupt."""


class WeightsChecksumError(ModelError):
    """A weights file does not match the sha256 recorded in the manifest."""


class OutputError(GeowarnError, OSError):
    """Outputs cannot be written where asked."""


class ClusterError(GeowarnError, RuntimeError):
    """The Dask cluster named by ``--cluster`` cannot be reached, or was lost during a run."""
