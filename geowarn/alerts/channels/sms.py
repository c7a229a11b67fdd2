"""SMS through Twilio's Messages API or a generic HTTP gateway."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from geowarn.alerts.channels.base import DeliveryError, fill_template, template_values
from geowarn.alerts.channels.config import GenericSmsConfig, TwilioSmsConfig
from geowarn.alerts.channels.http import HttpClient, safe_url
from geowarn.alerts.payload import AlertPayload
from geowarn.alerts.render import render_sms

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def normalise_phone(number: str) -> str:
    """``"+47 123 45 678"`` -> ``"+4712345678"`` (spaces, dashes, dots and brackets removed)."""
    return re.sub(r"[\s\-.()]", "", number)


class TwilioSmsChannel:
    """POSTs ``To``/``From``/``Body`` to ``{base_url}/2010-04-01/Accounts/{sid}/Messages.json``."""

    kind = "sms"

    def __init__(self, name: str, config: TwilioSmsConfig, account_sid: str, auth_token: str) -> None:
        self.name = name
        self.config = config
        self._sid = account_sid
        self._auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")
        self._http = HttpClient(config.timeout_s, config.ca_file)

    def __repr__(self) -> str:
        return f"TwilioSmsChannel({self.name!r}, {self.config.base_url})"

    def send(
        self, payload: AlertPayload, recipient: str, idempotency_key: str, attachments: Mapping[str, bytes]
    ) -> str:
        """Send the SMS; return the message SID (or ``HTTP <status>``).

        Raises:
            DeliveryError: permanent for a number not in E.164 form and 4xx answers (but 408/429).

        """
        number = normalise_phone(recipient)
        where = f"channel {self.name!r} ({safe_url(self.config.base_url)})"
        if not _E164.match(number):
            raise DeliveryError(
                f"{where}: recipient {recipient!r} is not an E.164 phone number; write it as +<country><number>",
                transient=False,
            )
        url = f"{self.config.base_url.rstrip('/')}/2010-04-01/Accounts/{quote(self._sid, safe='')}/Messages.json"
        body = urlencode(
            {"To": number, "From": self.config.from_number, "Body": render_sms(payload, self.config.max_len)}
        )
        response = self._http.request(
            where,
            url,
            body=body.encode("utf-8"),
            headers={
                "Authorization": self._auth,
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Accept": "application/json",
                "Idempotency-Key": idempotency_key,
            },
        )
        return response.json_field("sid") or f"HTTP {response.status}"


def _fill_nested(template: Any, values: Mapping[str, str]) -> Any:
    if isinstance(template, str):
        return fill_template(template, values)
    if isinstance(template, Mapping):
        return {fill_template(str(k), values): _fill_nested(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill_nested(v, values) for v in template]
    return template


class GenericSmsChannel:
    """Any HTTP SMS gateway: URL, method, body (JSON or form) and headers from templates."""

    kind = "sms"

    def __init__(self, name: str, config: GenericSmsConfig, secrets: Mapping[str, str]) -> None:
        self.name = name
        self.config = config
        self._secrets = {f"env:{k}": v for k, v in secrets.items()}
        self._http = HttpClient(config.timeout_s, config.ca_file)

    def __repr__(self) -> str:
        return f"GenericSmsChannel({self.name!r}, {self.config.method} {safe_url(self.config.url)})"

    def send(
        self, payload: AlertPayload, recipient: str, idempotency_key: str, attachments: Mapping[str, bytes]
    ) -> str:
        """Send the SMS; return the gateway's message id when its JSON answer has one, else ``HTTP <status>``."""
        cfg = self.config
        values = {
            **template_values(payload, recipient, idempotency_key, render_sms(payload, cfg.max_len)),
            **self._secrets,
        }
        url = fill_template(cfg.url, values, quote=lambda v: quote(v, safe=""))
        where = f"channel {self.name!r} ({safe_url(cfg.url)})"
        body_data = _fill_nested(cfg.body_template, values)
        headers = {"Idempotency-Key": idempotency_key, "Accept": "application/json"}
        body: bytes | None
        if cfg.method == "GET":
            url += ("&" if "?" in url else "?") + urlencode(body_data)
            body = None
        elif cfg.encoding == "json":
            body = json.dumps(body_data, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        else:
            body = urlencode(body_data).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        headers.update({k: fill_template(v, values) for k, v in cfg.headers.items()})
        response = self._http.request(where, url, method=cfg.method, body=body, headers=headers)
        return response.json_field("id", "message_id", "messageId", "sid") or f"HTTP {response.status}"
