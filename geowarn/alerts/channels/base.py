"""What every channel shares: the protocol, the delivery error, secrets from the environment, templates."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from geowarn.alerts.payload import AlertPayload
from geowarn.errors import ConfigError, GeowarnError
from geowarn.redact import register_secret


class DeliveryError(GeowarnError, OSError):
    """A message could not be delivered.

    Attributes:
        transient: True when a later retry may succeed (server down, timeout, 4xx SMTP reply, HTTP 5xx,
            408 or 429); False when retrying cannot help (bad address, rejected request, 5xx SMTP reply).
        status: the provider's status code when there was one (HTTP status or SMTP reply code).
        retry_after_s: the provider's requested delay (HTTP ``Retry-After``), when given.

    """

    def __init__(
        self, message: str, *, transient: bool, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status
        self.retry_after_s = retry_after_s

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_delivery_error, (str(self), self.transient, self.status, self.retry_after_s))


def _rebuild_delivery_error(message: str, transient: bool, status: int | None, retry: float | None) -> DeliveryError:
    return DeliveryError(message, transient=transient, status=status, retry_after_s=retry)


@runtime_checkable
class Channel(Protocol):
    """A way of delivering an alert to one recipient."""

    kind: str  # "email" | "sms" | "webhook" | "cap" | "file"

    def send(
        self, payload: AlertPayload, recipient: str, idempotency_key: str, attachments: Mapping[str, bytes]
    ) -> str:
        """Deliver ``payload`` to ``recipient``; return the provider's reference.

        Raises:
            DeliveryError: with ``transient`` telling whether to retry.

        """
        ...


def resolve_env(channel: str, field: str, variable: str, env: Mapping[str, str] | None = None) -> str:
    """Value of environment variable ``variable`` named by ``field`` of ``channel``.

    The value is registered as a secret (``geowarn.redact``): no log line, error or stored message shows it.

    Raises:
        ConfigError: when the variable is unset or empty (its value is never part of any message).

    """
    value = (os.environ if env is None else env).get(variable, "")
    if not value:
        raise ConfigError(
            f"channel {channel!r}: {field} names environment variable {variable}, which is not set or empty; "
            f"export {variable} in the environment of the geowarn service (secrets are never read from the YAML)"
        )
    register_secret(value)
    return value


#: Placeholders understood by message templates (generic SMS body, URL and headers, webhook headers).
TEMPLATE_FIELDS = frozenset(
    {"recipient", "text", "level", "site", "site_id", "alert_id", "idempotency_key", "subject", "dashboard_url"}
)
_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_ENV_NAME = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")


def template_names(template: str) -> list[str]:
    """Placeholder names in ``template`` (``{env:NAME}`` gives ``env:NAME``).

    Raises:
        ValueError: for an unknown placeholder or an unmatched brace.

    """
    names = []
    for match in _TEMPLATE_TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise ValueError(f"template {template!r} has an unmatched {token!r}; write {token * 2} for a literal one")
        if name not in TEMPLATE_FIELDS and not _ENV_NAME.match(name):
            known = ", ".join(f"{{{n}}}" for n in sorted(TEMPLATE_FIELDS))
            raise ValueError(f"template {template!r} uses unknown placeholder {{{name}}}; known: {known}, {{env:NAME}}")
        names.append(name)
    return names


def fill_template(template: str, values: Mapping[str, str], quote: Any = None) -> str:
    """Replace the placeholders of ``template`` in one pass (so substituted values are never re-parsed).

    Args:
        template: text with ``{name}`` / ``{env:NAME}`` placeholders, ``{{``/``}}`` for literal braces.
        values: value per placeholder name (``env:NAME`` keys for secrets).
        quote: optional function applied to each substituted value (URL quoting).

    """

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        value = values[match.group(1)]
        return str(quote(value)) if quote is not None else value

    return _TEMPLATE_TOKEN.sub(replace, template)


def template_values(payload: AlertPayload, recipient: str, idempotency_key: str, text: str) -> dict[str, str]:
    """Values of the :data:`TEMPLATE_FIELDS` for one delivery."""
    return {
        "recipient": recipient,
        "text": text,
        "level": payload.level,
        "site": payload.site_name,
        "site_id": payload.site_id,
        "alert_id": str(payload.alert_id),
        "idempotency_key": idempotency_key,
        "subject": payload.subject(),
        "dashboard_url": payload.dashboard_url or "",
    }


def env_placeholders(templates: list[str]) -> list[str]:
    """Environment variable names used as ``{env:NAME}`` in ``templates``."""
    found: list[str] = []
    for template in templates:
        for name in template_names(template):
            if name.startswith("env:") and name[4:] not in found:
                found.append(name[4:])
    return found


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a unique temporary file in the same folder and rename it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def slug(text: str, max_len: int = 48) -> str:
    """Lower-case file-name-safe form of ``text`` (``"+47 123"`` -> ``"47-123"``)."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:max_len].strip("-") or "all"
