"""One HTTP request with urllib, its failures sorted into transient and permanent :class:`DeliveryError`."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from geowarn.alerts.channels.base import DeliveryError
from geowarn.version import __version__

#: HTTP statuses worth retrying besides 5xx: request timeout, too early, too many requests.
TRANSIENT_STATUSES = frozenset({408, 425, 429})
USER_AGENT = f"geowarn/{__version__}"


@dataclass(frozen=True)
class HttpResponse:
    """Status, headers and body of a 2xx answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json_field(self, *names: str) -> str | None:
        """First of ``names`` present in a JSON object body, as text (message ids of SMS gateways)."""
        try:
            data: Any = json.loads(self.body or b"null")
        except ValueError:
            return None
        if isinstance(data, dict):
            for name in names:
                if data.get(name) not in (None, ""):
                    return str(data[name])
        return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are reported, not followed: urllib would turn a POST into a GET without body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path`` without query, fragment or credentials (may carry secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _retry_after(headers: Message | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date; the outbox's own backoff applies


class HttpClient:
    """urllib opener with an optional CA bundle, no redirects and a fixed timeout."""

    def __init__(self, timeout_s: float, ca_file: Path | None = None) -> None:
        self.timeout_s = timeout_s
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect())

    def request(
        self, what: str, url: str, *, method: str = "POST", body: bytes | None = None, headers: Mapping[str, str]
    ) -> HttpResponse:
        """Send one request; return the 2xx response.

        Args:
            what: description for messages, e.g. ``channel 'hook' (https://ops.example/hooks)``; no secrets.
            url: full URL (may carry secrets: never put in messages).
            method: HTTP method.
            body: request body.
            headers: request headers (may carry secrets).

        Raises:
            DeliveryError: transient for connection problems, timeouts, 5xx, 408, 425 and 429;
                permanent for other 4xx, redirects and malformed URLs.

        """
        for name, value in headers.items():
            if any(ord(c) < 32 or ord(c) == 127 for c in f"{name}{value}"):
                raise DeliveryError(
                    f"{what}: header {name!r} would contain a line break or control character (from a template "
                    "value or a secret's variable); not retried: fix the header template or the variable",
                    transient=False,
                )
        request = urllib.request.Request(url, data=body, method=method, headers={"User-Agent": USER_AGENT, **headers})
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                return HttpResponse(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as exc:
            status = exc.code
            detail = exc.read(300).decode("utf-8", "replace").strip() if exc.fp is not None else ""
            if 300 <= status < 400:
                location = safe_url(exc.headers.get("Location", "")) if exc.headers else "?"
                raise DeliveryError(
                    f"{what}: HTTP {status} redirect to {location}; set the channel URL to the final address",
                    transient=False,
                    status=status,
                ) from None
            transient = status >= 500 or status in TRANSIENT_STATUSES
            advice = "will retry" if transient else "not retried; check the channel settings and the recipient"
            raise DeliveryError(
                f"{what}: HTTP {status} {exc.reason} ({detail[:200] or 'no body'}); {advice}",
                transient=transient,
                status=status,
                retry_after_s=_retry_after(exc.headers),
            ) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                message = f"{what}: TLS certificate not trusted ({reason.verify_message}); set ca_file if it is private"
            else:
                message = f"{what}: cannot connect ({reason}); will retry"
            raise DeliveryError(message, transient=True) from exc
        except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
            raise DeliveryError(
                f"{what}: request failed ({type(exc).__name__}: {exc}); will retry", transient=True
            ) from exc
        except ValueError as exc:
            raise DeliveryError(f"{what}: invalid request ({exc}); fix the channel URL", transient=False) from exc
