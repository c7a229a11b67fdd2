"""Channel settings as found under ``channels:`` in a site YAML, selected by ``type`` (and ``style`` for SMS).

Secrets never appear in the YAML: fields ending in ``_env`` and ``{env:NAME}`` placeholders name
environment variables that are read when the channel is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

from geowarn.alerts.channels.base import template_names
from geowarn.settings import validate

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="environment variable name")]
#: Where every channel setting is documented.
CHANNELS_DOCS = "the channels in config/site.example.yaml"
ChannelName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


def _check_url(value: str | None) -> str | None:
    if value is not None and not value.lower().startswith(("http://", "https://")):
        raise ValueError(f"URL {value!r} must start with https:// (or http:// on a trusted network)")
    return value


def _check_templates(value: Any) -> Any:
    """Validate the placeholders of every string in a (nested) template."""
    if isinstance(value, str):
        template_names(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_templates(key)
            _check_templates(item)
    elif isinstance(value, list):
        for item in value:
            _check_templates(item)
    return value


class _ChannelBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _HttpBase(_ChannelBase):
    timeout_s: float = Field(20.0, gt=0, le=300, description="connect/read timeout of one request")
    ca_file: Path | None = Field(None, description="PEM bundle of CAs to trust instead of the system ones")


class _HttpTargetBase(_HttpBase):
    """A channel that sends to a ``url`` with extra ``headers`` (templates with {env:NAME})."""

    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers; {env:NAME} allowed")

    @field_validator("url", check_fields=False)
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _check_url(value)

    @field_validator("headers")
    @classmethod
    def _templates(cls, value: Any) -> Any:
        return _check_templates(value)


class EmailChannelConfig(_ChannelBase):
    """SMTP email: multipart text + HTML with the evidence map inline and attached."""

    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535, description="default: 587 starttls, 465 ssl, 25 none")
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: EnvName | None = None
    from_addr: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    reply_to: str | None = None
    timeout_s: float = Field(20.0, gt=0, le=300)
    ca_file: Path | None = Field(None, description="PEM bundle of CAs to trust (self-signed relay)")
    helo_name: str | None = Field(None, description="name sent in EHLO; default: this host's FQDN")

    @model_validator(mode="after")
    def _auth_pair(self) -> EmailChannelConfig:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("set both username and password_env for SMTP authentication, or neither")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "ssl": 465, "none": 25}[self.security]


class TwilioSmsConfig(_HttpBase):
    """SMS through Twilio's Messages API (or a compatible gateway)."""

    type: Literal["sms"]
    style: Literal["twilio"]
    base_url: str = "https://api.twilio.com"
    account_sid_env: EnvName
    auth_token_env: EnvName
    from_number: str = Field(pattern=r"^\+?[0-9A-Za-z ]{3,20}$", description="E.164 number or sender id")
    max_len: int = Field(320, ge=70, le=1600, description="longest message, in characters")

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str | None:
        return _check_url(value)


class GenericSmsConfig(_HttpBase):
    """SMS through any HTTP gateway: URL, method, body and headers are templates."""

    type: Literal["sms"]
    style: Literal["generic"]
    url: str
    method: Literal["POST", "PUT", "GET"] = "POST"
    encoding: Literal["json", "form"] = "json"
    body_template: dict[str, Any] = Field(default_factory=lambda: {"to": "{recipient}", "text": "{text}"})
    headers: dict[str, str] = Field(default_factory=dict)
    max_len: int = Field(320, ge=70, le=1600)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str | None:
        return _check_url(_check_templates(value))

    @field_validator("body_template", "headers")
    @classmethod
    def _templates(cls, value: Any) -> Any:
        return _check_templates(value)

    @model_validator(mode="after")
    def _flat_form(self) -> GenericSmsConfig:
        if (self.encoding == "form" or self.method == "GET") and any(
            not isinstance(v, str | int | float) for v in self.body_template.values()
        ):
            raise ValueError("form-encoded and GET bodies must be flat: every body_template value a string or number")
        return self


SmsChannelConfig = Annotated[TwilioSmsConfig | GenericSmsConfig, Field(discriminator="style")]


class WebhookChannelConfig(_HttpTargetBase):
    """JSON POST of the payload, signed with HMAC-SHA256 when ``secret_env`` is set."""

    type: Literal["webhook"]
    url: str
    secret_env: EnvName | None = None
    include_map: bool = Field(False, description="add the evidence map PNG as base64")


class CapChannelConfig(_HttpTargetBase):
    """CAP 1.2 XML written to a folder (a feed served by a web server) and/or POSTed to a CAP aggregator."""

    type: Literal["cap"]
    directory: Path | None = None
    url: str | None = None
    sender: str = Field(pattern=r"^[^\s,<&]+$", description="CAP sender id, e.g. geowarn@example.org")
    status: Literal["Actual", "Exercise", "Test"] = "Actual"
    include_map: bool = Field(False, description="embed the evidence map as a CAP <resource>")

    @model_validator(mode="after")
    def _somewhere(self) -> CapChannelConfig:
        if self.directory is None and self.url is None:
            raise ValueError("a cap channel needs a directory, a url or both")
        return self


class FileChannelConfig(_ChannelBase):
    """No server needed: ``.eml`` + ``.json`` + ``.png`` files in a folder, or the text on stdout."""

    type: Literal["file"]
    style: Literal["files", "console"] = "files"
    directory: Path | None = None
    from_addr: str = "geowarn@localhost"

    @model_validator(mode="after")
    def _directory(self) -> FileChannelConfig:
        if self.style == "files" and self.directory is None:
            raise ValueError("a file channel with style 'files' needs a directory")
        return self


ChannelConfig = Annotated[
    EmailChannelConfig | SmsChannelConfig | WebhookChannelConfig | CapChannelConfig | FileChannelConfig,
    Field(discriminator="type"),
]


class ChannelsConfig(RootModel[dict[ChannelName, ChannelConfig]]):
    """The ``channels:`` mapping of a site YAML: channel name -> settings."""

    def __getitem__(self, name: str) -> Any:
        return self.root[name]

    def names(self) -> list[str]:
        return list(self.root)


def parse_channels(data: Mapping[str, Any] | None, source: str = "channels") -> ChannelsConfig:
    """Validate a ``channels:`` mapping (``source``: where it comes from, e.g. the site YAML).

    Raises:
        ConfigError: naming ``source``, the channel, the field and the problem.

    """
    return validate(ChannelsConfig, dict(data or {}), source, docs=CHANNELS_DOCS, prefix=("channels",))
