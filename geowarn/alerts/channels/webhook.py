"""Webhook: the payload as JSON, signed with HMAC-SHA256 when a secret is configured."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from geowarn.alerts.channels.base import fill_template, template_values
from geowarn.alerts.channels.config import WebhookChannelConfig
from geowarn.alerts.channels.http import HttpClient, safe_url
from geowarn.alerts.payload import EVIDENCE_MAP_ATTACHMENT, AlertPayload
from geowarn.alerts.render import render_sms

WEBHOOK_EVENT = "geowarn.alert"
SIGNATURE_HEADER = "X-Geowarn-Signature"


def webhook_body(payload: AlertPayload, idempotency_key: str, evidence_map: bytes | None = None) -> bytes:
    """JSON body: the payload's fields plus ``event``, ``idempotency_key`` (and ``evidence_map_png_base64``)."""
    data: dict[str, Any] = payload.model_dump(mode="json")
    data["event"] = WEBHOOK_EVENT
    data["idempotency_key"] = idempotency_key
    if evidence_map is not None:
        data["evidence_map_png_base64"] = base64.b64encode(evidence_map).decode("ascii")
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``, the value of :data:`SIGNATURE_HEADER`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str) -> bool:
    """True when ``header`` is the signature of ``body`` (constant-time comparison), for receivers."""
    return hmac.compare_digest(sign(body, secret), header.strip())


class WebhookChannel:
    """POSTs :func:`webhook_body` to the configured URL; the recipient only feeds the idempotency key."""

    kind = "webhook"

    def __init__(self, name: str, config: WebhookChannelConfig, secret: str | None, secrets: Mapping[str, str]) -> None:
        self.name = name
        self.config = config
        self._secret = secret
        self._secrets = {f"env:{k}": v for k, v in secrets.items()}
        self._http = HttpClient(config.timeout_s, config.ca_file)

    def __repr__(self) -> str:
        return f"WebhookChannel({self.name!r}, {safe_url(self.config.url)}, signed={self._secret is not None})"

    def send(
        self, payload: AlertPayload, recipient: str, idempotency_key: str, attachments: Mapping[str, bytes]
    ) -> str:
        """POST the alert; return ``HTTP <status>``.

        Raises:
            DeliveryError: transient for connection problems, 5xx, 408 and 429; permanent for other 4xx.

        """
        evidence = attachments.get(EVIDENCE_MAP_ATTACHMENT) if self.config.include_map else None
        body = webhook_body(payload, idempotency_key, evidence)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": idempotency_key,
            "X-Geowarn-Event": WEBHOOK_EVENT,
        }
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(body, self._secret)
        if self.config.headers:
            values = {**template_values(payload, recipient, idempotency_key, render_sms(payload)), **self._secrets}
            headers.update({k: fill_template(v, values) for k, v in self.config.headers.items()})
        where = f"channel {self.name!r} ({safe_url(self.config.url)})"
        response = self._http.request(where, self.config.url, body=body, headers=headers)
        return f"HTTP {response.status}"
