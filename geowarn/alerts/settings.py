"""Alerting settings: who is told at which levels, acknowledgement and reminders.

``require_ack`` and ``ack_reminders`` are keys of the ``rules:`` section of a site's YAML,
``recipients`` a top-level key (``geowarn.workspace.site_config``); ``config/site.example.yaml``
documents each with its default.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import Field

from geowarn.assess.settings import Level
from geowarn.settings import Settings

NotifyLevel = Literal["green", "yellow", "orange", "red", "nodata"]
ALL_NOTIFY_LEVELS: tuple[NotifyLevel, ...] = ("green", "yellow", "orange", "red", "nodata")
ACK_LEVELS: tuple[Level, ...] = ("orange", "red")
#: Channel every site has: alert files under ``<home>/outbox`` (no server needed).
DEFAULT_CHANNEL = "outbox-files"


class AckReminders(Settings):
    """Hours between reminders of an alert that still awaits acknowledgement; None: no reminders."""

    orange: float | None = Field(24.0, gt=0)
    red: float | None = Field(4.0, gt=0)
    max_reminders: int = Field(6, ge=0)  # per alert; 0 turns reminders off

    def interval_h(self, level: str) -> float | None:
        """Hours between reminders at ``level``, or None."""
        return getattr(self, level, None) if level in ("orange", "red") and self.max_reminders else None


class Recipient(Settings):
    """Who is told, on which configured channel, at which levels."""

    name: str
    channel: str
    address: str
    levels: list[NotifyLevel] = Field(default_factory=lambda: list(ALL_NOTIFY_LEVELS))


class AlertSettings(Settings):
    """Which alerts need acknowledgement, and how often they are sent again until they get it."""

    require_ack: list[Level] = Field(default_factory=lambda: list(ACK_LEVELS))
    ack_reminders: AckReminders = AckReminders()


class SiteAlerting(Protocol):
    """What alerting reads of a site's configuration (``geowarn.workspace.site_config.SiteConfig``)."""

    @property
    def alerting(self) -> AlertSettings: ...

    @property
    def recipients(self) -> list[Recipient]: ...

    @property
    def channels(self) -> dict[str, dict[str, Any]]: ...

    @property
    def dashboard_url(self) -> str | None: ...
