"""The Python API: what the command line, a scheduler and a dashboard call (re-exported by ``geowarn``).

Each name is imported on first use: ``Workspace`` and ``load_settings`` do not load the models'
libraries, so commands such as ``geowarn outbox flush`` start quickly.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geowarn.api.detection import Detection, detect
    from geowarn.api.settings import load_settings
    from geowarn.api.workspace import Workspace

_NAMES = {
    "Detection": "geowarn.api.detection",
    "detect": "geowarn.api.detection",
    "load_settings": "geowarn.api.settings",
    "Workspace": "geowarn.api.workspace",
}

__all__ = ["Detection", "Workspace", "detect", "load_settings"]


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'geowarn.api' has no attribute {name!r}")
