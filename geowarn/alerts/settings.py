"""Alerting settings: who is told at which levels, acknowledgement and reminders.

``require_ack`` and ``ack_reminders`` are keys of the ``rules:`` section of a site's YAML,
``recipients`` a top-level key (``geowarn.workspace.site_config``); ``config/site.example.yaml``
documents each with its default.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import Field, field_validator

from geowarn import inputs
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
    """Who is told, on which configured channel, at which levels.

    ``address`` is one line here; the site's settings check it against its channel's type (an email
    address for email, an E.164 number for Twilio SMS) with :func:`check_address`.
    """

    name: str
    channel: str
    address: str
    levels: list[NotifyLevel] = Field(default_factory=lambda: list(ALL_NOTIFY_LEVELS))

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return inputs.one_line(value)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return inputs.one_line(value, inputs.ADDRESS_MAX_CHARS)


def check_address(address: str, channel: Any) -> str:
    """``address`` checked for a channel of settings ``channel`` (its ``type`` and ``style``).

    Raises:
        ValueError: ``problem; fix`` (``geowarn.inputs``).

    """
    kind = channel.get("type") if isinstance(channel, dict) else None
    if kind == "email":
        return inputs.email_address(address)
    if kind == "sms" and channel.get("style") == "twilio":
        inputs.phone_number(address)
    return address


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
