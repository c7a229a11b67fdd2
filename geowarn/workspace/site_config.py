"""A site's YAML: the ``rules:`` of every stage side by side, its recipients and its channels.

Each stage owns its settings (tracking, registration, assessment, alerting); the site's ``rules:``
section holds all their keys flat, as :class:`Rules`, and hands each stage its own part
(``rules.tracking``, ``rules.registration``, ``rules.assessment``, ``rules.alerting``). Unknown keys
are rejected, so a typo never silently keeps a default. ``config/site.example.yaml`` documents every
key and its default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import Field, field_validator, model_validator

from geowarn.alerts.settings import DEFAULT_CHANNEL, AlertSettings, Recipient, check_address
from geowarn.assess.settings import AssessmentSettings
from geowarn.errors import ConfigError
from geowarn.registration.settings import RegistrationSettings
from geowarn.settings import Settings, read_mapping, validate
from geowarn.tracking.settings import TrackingSettings

#: Where every site setting is documented.
SITE_DOCS = "config/site.example.yaml"

_PartT = TypeVar("_PartT", bound=Settings)


class Rules(AssessmentSettings, AlertSettings, RegistrationSettings, TrackingSettings):
    """The ``rules:`` section of a site: every stage's settings, flat, as the YAML writes them."""

    def _part(self, part: type[_PartT]) -> _PartT:
        return cast(_PartT, part.model_construct(**{name: getattr(self, name) for name in part.model_fields}))

    @property
    def tracking(self) -> TrackingSettings:
        return self._part(TrackingSettings)

    @property
    def registration(self) -> RegistrationSettings:
        return self._part(RegistrationSettings)

    @property
    def assessment(self) -> AssessmentSettings:
        return self._part(AssessmentSettings)

    @property
    def alerting(self) -> AlertSettings:
        return self._part(AlertSettings)


class SiteConfig(Settings):
    """Everything a site's YAML file may set; every field has a default."""

    rules: Rules = Rules()
    recipients: list[Recipient] = Field(default_factory=list)
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    dashboard_url: str | None = None
    cap_sender: str = "geowarn@localhost"

    @property
    def alerting(self) -> AlertSettings:
        """The alerting part of the rules (see ``geowarn.alerts.settings.SiteAlerting``)."""
        return self.rules.alerting

    @field_validator("channels")
    @classmethod
    def _channel_settings(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from geowarn.alerts.channels import parse_channels

        try:
            parse_channels(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @model_validator(mode="after")
    def _recipients_use_known_channels(self) -> SiteConfig:
        for r in self.recipients:
            if r.channel not in self.channels and r.channel != DEFAULT_CHANNEL:
                known = ", ".join(sorted(self.channels)) or "none configured"
                raise ValueError(f"recipient {r.name!r} uses channel {r.channel!r}, which is not defined ({known})")
            try:
                check_address(r.address, self.channels.get(r.channel))
            except ValueError as exc:
                raise ValueError(f"recipient {r.name!r}: address {r.address!r}: {exc}") from None
        return self


def load_site_config(path: Path | None) -> SiteConfig:
    """Read and validate a site YAML file; None gives the defaults.

    Raises:
        ConfigError: the file is missing, not YAML, or has invalid or unknown keys (``geowarn.settings`` format).

    """
    if path is None:
        return SiteConfig()
    raw = read_mapping(path)
    if isinstance(raw.get("channels"), dict):
        from geowarn.alerts.channels import parse_channels

        parse_channels(raw["channels"], str(path))  # first, so that its problems name the channel keys
    return validate(SiteConfig, raw, str(path), docs=SITE_DOCS)
