"""The installed geowarn version (``geowarn.__version__``), for provenance records and user agents."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geowarn")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"
