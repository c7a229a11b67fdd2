"""Keep secrets out of everything geowarn writes: log lines, error messages, ``last_error``, run files.

Three kinds of secret are recognised:

* values read from the environment for a channel (``*_env`` fields, ``{env:NAME}`` placeholders),
  which :func:`register_secret` records when they are read, so they are masked wherever they turn up
  (an HTTP library quoting a header, a server echoing a token);
* passwords in URLs (``postgresql://user:PASSWORD@host/db``) and the values of query parameters
  with a secret-sounding name (``?token=...``);
* values next to a secret-sounding name: ``password=...``, ``token: ...``, ``"api_key": "..."``,
  ``Authorization: Bearer ...``.

:func:`redact` masks all three in a text, :func:`redact_tree` in a JSON-like structure (a key with a
secret-sounding name has its whole value masked), :func:`redact_url` in a database URL.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

#: What a masked secret reads as.
MASK = "***"
#: Shorter values are not registered: masking them would mangle ordinary words.
MIN_SECRET_CHARS = 4

_SECRET_WORDS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "private_key",
    "credential",
    "authorization",
    "auth_token",
    "signature",
    "passphrase",
)
_NAME = r"[A-Za-z0-9_.-]*(?:" + "|".join(re.escape(w) for w in _SECRET_WORDS) + r")[A-Za-z0-9_.-]*"
#: ``password=x``, ``password: x``, ``"password": "x"``, ``'token' = 'x'`` (the value up to a separator).
_ASSIGNMENT = re.compile(
    r"(?P<key>[\"']?(?i:" + _NAME + r")[\"']?\s*[:=]\s*)(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&\"'}\]]+)"
)
#: ``Bearer abc``, ``Basic abc``, ``Token abc`` (HTTP authorization schemes).
_AUTH_SCHEME = re.compile(r"(?i)\b(?P<scheme>bearer|basic|token|digest)\s+(?P<value>[A-Za-z0-9._~+/=-]{4,})")
#: ``scheme://user:password@host``: the password part.
_URL_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)(?P<value>[^@\s]*)(?P<at>@)")

_SCHEMES = ("bearer", "basic", "token", "digest")

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember ``value`` as a secret: :func:`redact` masks it from now on, in this process."""
    if value is None:
        return
    for candidate in {value, value.strip()}:
        if len(candidate) >= MIN_SECRET_CHARS:
            with _lock:
                _secrets.add(candidate)


def forget_secrets() -> None:
    """Forget every registered secret (tests)."""
    with _lock:
        _secrets.clear()


def is_secret_name(name: str) -> bool:
    """Whether a key or field name sounds like it holds a secret (``password``, ``api_token``...).

    Names ending in ``_env`` name the environment variable that holds the secret, not the secret.
    """
    lowered = name.lower().replace("-", "_").strip("\"' ")
    if lowered.endswith("_env"):
        return False
    return lowered == "pwd" or any(word.replace("-", "_") in lowered for word in _SECRET_WORDS)


def redact(text: str) -> str:
    """``text`` with registered secrets, URL passwords and secret-named values masked by :data:`MASK`."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_USERINFO.sub(lambda m: m.group("head") + MASK + m.group("at"), text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group('scheme')} {MASK}", text)
    return _ASSIGNMENT.sub(_mask_assignment, text)


def _mask_assignment(match: re.Match[str]) -> str:
    value = match.group("value")
    key = match.group("key").rstrip(" :=")
    if value.strip("\"'") == MASK or value.lower() in _SCHEMES or not is_secret_name(key):
        return match.group(0)
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('key')}{quote}{MASK}{quote}"


def redact_url(url: str) -> str:
    """A database or service URL with its password masked (``postgresql://u:***@h/db``)."""
    return redact(url)


def redact_tree(value: Any) -> Any:
    """A copy of a JSON-like structure with secrets masked: whole values under secret-named keys, and texts."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {
            k: (MASK if isinstance(k, str) and is_secret_name(k) and v not in (None, "") else redact_tree(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_tree(v) for v in value]
    return value
