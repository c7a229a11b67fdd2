from __future__ import annotations

import base64
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from geowarn.alerts.cap import CAP_NAMESPACE
from geowarn.alerts.channels import DeliveryError, build_channel
from geowarn.alerts.payload import EVIDENCE_MAP_ATTACHMENT, AlertPayload
from geowarn.alerts.render import render_sms
from geowarn.errors import ConfigError

MakePayload = Callable[..., AlertPayload]
ENV = {
    "TWILIO_ACCOUNT_SID": "AC123",
    "TWILIO_AUTH_TOKEN": "tok-secret",
    "SMS_TOKEN": "gw-secret",
    "GEOWARN_WEBHOOK_SECRET": "hook-secret",
}
PNG = b"\x89PNG\r\n\x1a\nfake"


def deliver(settings: dict[str, Any], payload: AlertPayload, recipient: str, name: str = "chan") -> str:
    channel = build_channel(name, settings, env=ENV)
    key = payload.idempotency_key(name, recipient)
    return channel.send(payload, recipient, key, {EVIDENCE_MAP_ATTACHMENT: PNG})


def test_twilio_sms(http_server: Any, make_payload: MakePayload) -> None:
    http_server.reply(201, {"sid": "SM0001", "status": "queued"})
    payload = make_payload()
    settings = {
        "type": "sms",
        "style": "twilio",
        "base_url": http_server.url,
        "account_sid_env": "TWILIO_ACCOUNT_SID",
        "auth_token_env": "TWILIO_AUTH_TOKEN",
        "from_number": "+4712345678",
    }
    ref = deliver(settings, payload, "+47 987 65 432", name="sms")
    assert ref == "SM0001"
    (request,) = http_server.requests
    assert request.method == "POST"
    assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"AC123:tok-secret").decode()
    assert request.headers["Idempotency-Key"] == payload.idempotency_key("sms", "+47 987 65 432")
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    form = parse_qs(request.body.decode())
    assert form["To"] == ["+4798765432"] and form["From"] == ["+4712345678"]
    assert form["Body"] == [render_sms(payload, 320)]


def test_twilio_rejects_malformed_number(http_server: Any, make_payload: MakePayload) -> None:
    settings = {
        "type": "sms",
        "style": "twilio",
        "base_url": http_server.url,
        "account_sid_env": "TWILIO_ACCOUNT_SID",
        "auth_token_env": "TWILIO_AUTH_TOKEN",
        "from_number": "+4712345678",
    }
    with pytest.raises(DeliveryError, match=r"E\.164") as info:
        deliver(settings, make_payload(), "ops@example.org")
    assert info.value.transient is False
    assert http_server.requests == []


def test_generic_sms_json_template(http_server: Any, make_payload: MakePayload) -> None:
    http_server.reply(200, {"id": "gw-77"})
    payload = make_payload()
    settings = {
        "type": "sms",
        "style": "generic",
        "url": http_server.url + "/send?site={site_id}",
        "method": "POST",
        "encoding": "json",
        "max_len": 160,
        "body_template": {"to": "{recipient}", "text": "{text}", "meta": {"level": "{level}", "id": "{alert_id}"}},
        "headers": {"Authorization": "Bearer {env:SMS_TOKEN}", "X-Key": "{idempotency_key}"},
    }
    assert deliver(settings, payload, "+4798765432", name="sms-generic") == "gw-77"
    (request,) = http_server.requests
    assert request.path == "/send?site=north-slope"
    assert request.headers["Authorization"] == "Bearer gw-secret"
    key = payload.idempotency_key("sms-generic", "+4798765432")
    assert request.headers["X-Key"] == key == request.headers["Idempotency-Key"]
    assert request.json() == {
        "to": "+4798765432",
        "text": render_sms(payload, 160),
        "meta": {"level": "orange", "id": "42"},
    }


def test_generic_sms_get_form(http_server: Any, make_payload: MakePayload) -> None:
    settings = {
        "type": "sms",
        "style": "generic",
        "url": http_server.url + "/sms",
        "method": "GET",
        "body_template": {"number": "{recipient}", "msg": "{text}", "user": "geowarn"},
    }
    assert deliver(settings, make_payload(), "+4798765432") == "HTTP 200"
    (request,) = http_server.requests
    query = parse_qs(urlsplit(request.path).query)
    assert query["number"] == ["+4798765432"] and query["user"] == ["geowarn"]
    assert query["msg"][0].startswith("geowarn ORANGE")


def test_webhook_json_and_signature(http_server: Any, make_payload: MakePayload) -> None:
    payload = make_payload()
    settings = {
        "type": "webhook",
        "url": http_server.url + "/hooks/geowarn",
        "secret_env": "GEOWARN_WEBHOOK_SECRET",
        "include_map": True,
    }
    assert deliver(settings, payload, "ops", name="hook") == "HTTP 200"
    (request,) = http_server.requests
    expected = "sha256=" + hmac.new(b"hook-secret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Geowarn-Signature"] == expected
    assert request.headers["Content-Type"].startswith("application/json")
    body = request.json()
    assert body["event"] == "geowarn.alert"
    assert body["idempotency_key"] == request.headers["Idempotency-Key"] == payload.idempotency_key("hook", "ops")
    assert base64.b64decode(body.pop("evidence_map_png_base64")) == PNG
    del body["event"], body["idempotency_key"]
    assert AlertPayload.model_validate(body) == payload


def test_webhook_without_secret_is_unsigned(http_server: Any, make_payload: MakePayload) -> None:
    deliver({"type": "webhook", "url": http_server.url}, make_payload(), "ops")
    (request,) = http_server.requests
    assert "X-Geowarn-Signature" not in request.headers
    assert "evidence_map_png_base64" not in request.json()


def test_cap_post_and_file(http_server: Any, make_payload: MakePayload, tmp_path: Path) -> None:
    payload = make_payload()
    settings = {"type": "cap", "directory": "cap", "url": http_server.url + "/cap", "sender": "geowarn@example.org"}
    channel = build_channel("cap-feed", settings, env={}, base_dir=tmp_path)
    ref = channel.send(payload, "feed", payload.idempotency_key("cap-feed", "feed"), {})
    path = tmp_path / "cap" / "geowarn-alert-north-slope-42.xml"
    assert ref == f"{path}; HTTP 200"
    (request,) = http_server.requests
    assert request.headers["Content-Type"] == "application/cap+xml"
    assert request.body == path.read_bytes()
    root = ET.fromstring(request.body)
    assert root.tag == f"{{{CAP_NAMESPACE}}}alert"
    assert list(tmp_path.joinpath("cap").iterdir()) == [path]  # no temporary file left


@pytest.mark.parametrize(
    ("status", "transient"),
    [(503, True), (500, True), (429, True), (408, True), (400, False), (401, False), (404, False)],
)
def test_http_status_classification(http_server: Any, make_payload: MakePayload, status: int, transient: bool) -> None:
    http_server.reply(status, {"error": "nope"}, **{"Retry-After": "30"})
    with pytest.raises(DeliveryError, match=f"HTTP {status}") as info:
        deliver({"type": "webhook", "url": http_server.url + "/hook?token=abc"}, make_payload(), "ops")
    assert info.value.transient is transient
    assert info.value.status == status
    assert "token=abc" not in str(info.value)
    if transient:
        assert info.value.retry_after_s == 30.0


def test_redirect_is_not_followed(http_server: Any, make_payload: MakePayload) -> None:
    http_server.reply(302, b"", Location="https://elsewhere.example/hook")
    with pytest.raises(DeliveryError, match=r"redirect to https://elsewhere\.example/hook") as info:
        deliver({"type": "webhook", "url": http_server.url}, make_payload(), "ops")
    assert info.value.transient is False
    assert len(http_server.requests) == 1


def test_connection_refused_is_transient(closed_port: int, make_payload: MakePayload) -> None:
    with pytest.raises(DeliveryError, match="cannot connect") as info:
        deliver({"type": "webhook", "url": f"http://127.0.0.1:{closed_port}/hook"}, make_payload(), "ops")
    assert info.value.transient is True


def test_missing_secrets_are_config_errors() -> None:
    twilio = {
        "type": "sms",
        "style": "twilio",
        "account_sid_env": "NO_SID",
        "auth_token_env": "NO_TOKEN",
        "from_number": "+4712345678",
    }
    with pytest.raises(ConfigError, match=r"channel 'sms': account_sid_env names environment variable NO_SID"):
        build_channel("sms", twilio, env={})
    generic = {
        "type": "sms",
        "style": "generic",
        "url": "https://gw.example/send",
        "headers": {"Authorization": "Bearer {env:SMS_TOKEN}"},
    }
    with pytest.raises(ConfigError, match=r"'sms-generic'.*\{env:SMS_TOKEN\}.*SMS_TOKEN"):
        build_channel("sms-generic", generic, env={})
    with pytest.raises(ConfigError, match=r"secret_env.*HOOK_SECRET"):
        build_channel("hook", {"type": "webhook", "url": "https://x.example", "secret_env": "HOOK_SECRET"}, env={})


def test_unknown_placeholder_rejected() -> None:
    bad = {"type": "sms", "style": "generic", "url": "https://gw.example/send", "body_template": {"to": "{phone}"}}
    with pytest.raises(ConfigError, match=r"unknown placeholder \{phone\}"):
        build_channel("sms", bad, env={})


def test_secret_values_not_in_repr() -> None:
    channel = build_channel(
        "hook", {"type": "webhook", "url": "https://x.example/h?k=1", "secret_env": "GEOWARN_WEBHOOK_SECRET"}, env=ENV
    )
    assert "hook-secret" not in repr(channel) and "k=1" not in repr(channel)
    assert json.dumps(ENV)  # sanity
