"""The Python API: what the command line, a scheduler and a dashboard call (re-exported by ``geowarn``)."""

from geowarn.api.detection import Detection, detect
from geowarn.api.settings import load_settings
from geowarn.api.workspace import Workspace

__all__ = ["Detection", "Workspace", "detect", "load_settings"]
