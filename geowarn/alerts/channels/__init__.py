"""Delivery channels: email (SMTP), SMS (Twilio or generic HTTP), webhook, CAP 1.2 and files.

The outbox builds the channels once from the site's ``channels:`` settings and calls, per recipient::

    channels = build_channels(parse_channels(site_yaml["channels"]), base_dir=site_dir)
    key = payload.idempotency_key(channel_name, recipient)
    ref = channels[channel_name].send(payload, recipient, key, {EVIDENCE_MAP_ATTACHMENT: png})

``send`` returns the provider's reference or raises :class:`DeliveryError` whose ``transient`` says
whether a retry may succeed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from geowarn.alerts.channels.base import Channel, DeliveryError, env_placeholders, resolve_env
from geowarn.alerts.channels.capfeed import CapChannel
from geowarn.alerts.channels.config import (
    CapChannelConfig,
    ChannelConfig,
    ChannelsConfig,
    EmailChannelConfig,
    FileChannelConfig,
    GenericSmsConfig,
    TwilioSmsConfig,
    WebhookChannelConfig,
    parse_channels,
)
from geowarn.alerts.channels.files import ConsoleChannel, FileChannel
from geowarn.alerts.channels.sms import GenericSmsChannel, TwilioSmsChannel
from geowarn.alerts.channels.smtp import EmailChannel
from geowarn.alerts.channels.webhook import WebhookChannel
from geowarn.alerts.payload import AlertPayload
from geowarn.errors import ConfigError
from geowarn.logs import log_event

__all__ = [
    "CapChannel",
    "CapChannelConfig",
    "Channel",
    "ChannelConfig",
    "ChannelsConfig",
    "ConsoleChannel",
    "DeliveryError",
    "EmailChannel",
    "EmailChannelConfig",
    "FileChannel",
    "FileChannelConfig",
    "GenericSmsChannel",
    "GenericSmsConfig",
    "TwilioSmsChannel",
    "TwilioSmsConfig",
    "WebhookChannel",
    "WebhookChannelConfig",
    "build_channel",
    "build_channels",
    "deliver",
    "parse_channels",
]

logger = logging.getLogger(__name__)


class _Secrets:
    """Reads a channel's secrets, collecting every missing variable before failing."""

    def __init__(self, channel: str, env: Mapping[str, str]) -> None:
        self.channel, self.env, self.problems = channel, env, list[str]()

    def get(self, field: str, variable: str) -> str:
        try:
            return resolve_env(self.channel, field, variable, self.env)
        except ConfigError as exc:
            self.problems.append(str(exc))
            return ""

    def templates(self, field: str, templates: list[str]) -> dict[str, str]:
        return {var: self.get(f"{field} {{env:{var}}}", var) for var in env_placeholders(templates)}

    def check(self) -> None:
        if self.problems:
            raise ConfigError("; ".join(self.problems))


def _resolve_dir(directory: Path, base_dir: Path | None) -> Path:
    directory = directory.expanduser()
    return directory if directory.is_absolute() or base_dir is None else base_dir / directory


def build_channel(
    name: str, config: Any, *, env: Mapping[str, str] | None = None, base_dir: Path | None = None
) -> Channel:
    """Channel object for one entry of the ``channels:`` settings.

    Args:
        name: the channel's name in the settings (used in messages and idempotency keys).
        config: a channel config model, or its dict form (validated here).
        env: environment to read secrets from; default ``os.environ``.
        base_dir: folder that relative ``directory`` settings are relative to (the site YAML's folder);
            default the working directory.

    Raises:
        ConfigError: invalid settings, or a secret's environment variable is unset (names the channel,
            the field and the variable).

    """
    secrets = _Secrets(name, os.environ if env is None else env)
    if isinstance(config, Mapping):
        config = parse_channels({name: config}, source=f"channel {name!r}")[name]
    channel: Channel
    if isinstance(config, EmailChannelConfig):
        password = secrets.get("password_env", config.password_env) if config.password_env else None
        channel = EmailChannel(name, config, password)
    elif isinstance(config, TwilioSmsConfig):
        sid = secrets.get("account_sid_env", config.account_sid_env)
        token = secrets.get("auth_token_env", config.auth_token_env)
        channel = TwilioSmsChannel(name, config, sid, token)
    elif isinstance(config, GenericSmsConfig):
        templates = [config.url, *config.headers.values(), *_strings(config.body_template)]
        channel = GenericSmsChannel(name, config, secrets.templates("template", templates))
    elif isinstance(config, WebhookChannelConfig):
        secret = secrets.get("secret_env", config.secret_env) if config.secret_env else None
        channel = WebhookChannel(name, config, secret, secrets.templates("headers", list(config.headers.values())))
    elif isinstance(config, CapChannelConfig):
        directory = _resolve_dir(config.directory, base_dir) if config.directory else None
        channel = CapChannel(name, config, directory, secrets.templates("headers", list(config.headers.values())))
    elif isinstance(config, FileChannelConfig):
        if config.style == "console" or config.directory is None:
            channel = ConsoleChannel(name)
        else:
            channel = FileChannel(name, config, _resolve_dir(config.directory, base_dir))
    else:
        raise ConfigError(f"channel {name!r}: unsupported settings {type(config).__name__}; use a type from the docs")
    secrets.check()
    return channel


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def build_channels(
    configs: ChannelsConfig | Mapping[str, Any], *, env: Mapping[str, str] | None = None, base_dir: Path | None = None
) -> dict[str, Channel]:
    """All channels of a site; every problem (not just the first) is reported in one ConfigError."""
    items = configs.root if isinstance(configs, ChannelsConfig) else parse_channels(configs).root
    channels: dict[str, Channel] = {}
    problems: list[str] = []
    for name, config in items.items():
        try:
            channels[name] = build_channel(name, config, env=env, base_dir=base_dir)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems))
    return channels


def deliver(
    channel: Channel,
    payload: AlertPayload,
    recipient: str,
    *,
    channel_name: str,
    attachments: Mapping[str, bytes] | None = None,
) -> str:
    """Send with the payload's idempotency key for (``channel_name``, ``recipient``) and log the outcome.

    Raises:
        DeliveryError: re-raised after logging (the outbox decides on retries).

    """
    key = payload.idempotency_key(channel_name, recipient)
    fields: dict[str, Any] = {
        "channel": channel_name,
        "kind": channel.kind,
        "alert_id": payload.alert_id,
        "idempotency_key": key,
    }
    try:
        ref = channel.send(payload, recipient, key, attachments or {})
    except DeliveryError as exc:
        level = logging.WARNING if exc.transient else logging.ERROR
        log_event(logger, "alert delivery failed", level, transient=exc.transient, error=str(exc), **fields)
        raise
    log_event(logger, "alert delivered", ref=ref, **fields)
    return ref
