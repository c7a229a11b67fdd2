"""``geowarn.load_settings``: any of geowarn's settings files, validated, through one reader."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from geowarn.errors import ConfigError
from geowarn.settings import read_mapping

if TYPE_CHECKING:
    from geowarn.alerts.channels.config import ChannelsConfig
    from geowarn.harness.scenario.schema import Scenario, Suite
    from geowarn.pipeline.detect_config import DetectConfig
    from geowarn.training.config import RunConfig
    from geowarn.workspace.site_config import SiteConfig

SettingsKind = Literal["detect", "site", "train", "channels", "scenario", "suite"]
KINDS: tuple[SettingsKind, ...] = ("detect", "site", "train", "channels", "scenario", "suite")


@overload
def load_settings(path: str | Path, kind: Literal["detect"]) -> DetectConfig: ...
@overload
def load_settings(path: str | Path, kind: Literal["site"]) -> SiteConfig: ...
@overload
def load_settings(path: str | Path, kind: Literal["train"]) -> RunConfig: ...
@overload
def load_settings(path: str | Path, kind: Literal["channels"]) -> ChannelsConfig: ...
@overload
def load_settings(path: str | Path, kind: Literal["scenario"]) -> Scenario: ...
@overload
def load_settings(path: str | Path, kind: Literal["suite"]) -> Suite: ...


def load_settings(
    path: str | Path, kind: SettingsKind
) -> DetectConfig | SiteConfig | RunConfig | ChannelsConfig | Scenario | Suite:
    """Read and validate one settings file.

    Args:
        path: the file (YAML; ``scenario.json`` and ``suite.json`` for the last two kinds, or their folder).
        kind: ``detect`` (``config/detect.yaml``), ``site`` (``config/site.example.yaml``), ``train``
            (``config/train/*.yaml``; the task comes from the file's ``task`` key), ``channels`` (a
            file whose ``channels:`` mapping names alert channels), ``scenario`` or ``suite``.

    Returns:
        The validated settings (frozen pydantic models).

    Raises:
        ConfigError: the file cannot be read or parsed, or a key is unknown or invalid, one line per
            problem: ``FILE: key 'a.b': value X: problem; fix``.

    """
    path = Path(path)
    if kind == "detect":
        from geowarn.pipeline.detect_config import load_detect_config

        return load_detect_config(path)
    if kind == "site":
        from geowarn.workspace.site_config import load_site_config

        return load_site_config(path)
    if kind == "train":
        from geowarn.training.config import load_train_config

        task = read_mapping(path).get("task")
        if task not in ("classify", "segment"):
            raise ConfigError(f"{path}: key 'task': value {task!r}: must be classify or segment; add 'task: segment'")
        return load_train_config(task, path)
    if kind == "channels":
        from geowarn.alerts.channels.config import parse_channels

        data = read_mapping(path)
        return parse_channels(data.get("channels", data), str(path))
    if kind == "scenario":
        from geowarn.harness.scenario.schema import load_scenario

        return load_scenario(path)
    if kind == "suite":
        from geowarn.harness.scenario.schema import load_suite

        return load_suite(path)
    raise ConfigError(f"settings kind {kind!r} is not one of {', '.join(KINDS)}; pass one of them as kind=")
