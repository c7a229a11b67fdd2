from __future__ import annotations

import email
import io
import json
import logging
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
import yaml

from geowarn.alerts.channels import (
    CapChannel,
    Channel,
    ConsoleChannel,
    DeliveryError,
    EmailChannel,
    FileChannel,
    GenericSmsChannel,
    TwilioSmsChannel,
    WebhookChannel,
    build_channel,
    build_channels,
    deliver,
    parse_channels,
)
from geowarn.alerts.channels.config import EmailChannelConfig, GenericSmsConfig
from geowarn.alerts.payload import EVIDENCE_MAP_ATTACHMENT, AlertPayload
from geowarn.errors import ConfigError

MakePayload = Callable[..., AlertPayload]

SITE_YAML = """
channels:
  ops-mail: {type: email, host: smtp.example.org, port: 587, security: starttls, username: geowarn,
             password_env: GEOWARN_SMTP_PASSWORD, from_addr: geowarn@example.org, timeout_s: 20}
  sms: {type: sms, style: twilio, base_url: https://api.twilio.com, account_sid_env: TWILIO_ACCOUNT_SID,
        auth_token_env: TWILIO_AUTH_TOKEN, from_number: "+4712345678"}
  sms-generic: {type: sms, style: generic, url: "https://gw.example/send", method: POST, encoding: json,
                body_template: {"to": "{recipient}", "text": "{text}"},
                headers: {"Authorization": "Bearer {env:SMS_TOKEN}"}}
  hook: {type: webhook, url: "https://ops.example/hooks/geowarn", secret_env: GEOWARN_WEBHOOK_SECRET}
  cap-feed: {type: cap, directory: cap/, url: null, sender: geowarn@example.org}
  log: {type: file, directory: alerts-out/}
  console: {type: file, style: console}
"""
ENV = {
    "GEOWARN_SMTP_PASSWORD": "p",
    "TWILIO_ACCOUNT_SID": "AC1",
    "TWILIO_AUTH_TOKEN": "t",
    "SMS_TOKEN": "s",
    "GEOWARN_WEBHOOK_SECRET": "w",
}


def test_site_yaml_validates_and_builds(tmp_path: Path) -> None:
    configs = parse_channels(yaml.safe_load(SITE_YAML)["channels"], source="site.yaml")
    assert isinstance(configs["ops-mail"], EmailChannelConfig)
    assert isinstance(configs["sms-generic"], GenericSmsConfig)
    channels = build_channels(configs, env=ENV, base_dir=tmp_path)
    kinds = {name: type(channel) for name, channel in channels.items()}
    assert kinds == {
        "ops-mail": EmailChannel,
        "sms": TwilioSmsChannel,
        "sms-generic": GenericSmsChannel,
        "hook": WebhookChannel,
        "cap-feed": CapChannel,
        "log": FileChannel,
        "console": ConsoleChannel,
    }
    assert all(isinstance(c, Channel) for c in channels.values())
    assert {c.kind for c in channels.values()} == {"email", "sms", "webhook", "cap", "file"}
    log = channels["log"]
    assert isinstance(log, FileChannel) and log.directory == tmp_path / "alerts-out"


def test_build_channels_reports_every_missing_secret() -> None:
    with pytest.raises(ConfigError) as info:
        build_channels(yaml.safe_load(SITE_YAML)["channels"], env={})
    message = str(info.value)
    for variable in ENV:
        assert variable in message
    assert "ops-mail" in message and "password_env" in message


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"type": "pager", "url": "x"}, "type"),
        ({"type": "email", "host": "h", "from_addr": "a@b", "extra": 1}, "extra"),
        ({"type": "sms", "style": "carrier-pigeon"}, "style"),
        ({"type": "webhook", "url": "ftp://x"}, "https://"),
        ({"type": "cap", "sender": "geowarn@example.org"}, "directory, a url or both"),
        ({"type": "cap", "directory": "c", "sender": "geo warn"}, "sender"),
        ({"type": "file"}, "needs a directory"),
        (
            {
                "type": "sms",
                "style": "generic",
                "url": "https://g.example",
                "encoding": "form",
                "body_template": {"to": {"nested": "x"}},
            },
            "flat",
        ),
        ({"type": "sms", "style": "generic", "url": "https://g.example/{oops"}, "unmatched"),
    ],
)
def test_invalid_settings(settings: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=r"site\.yaml: key 'channels\.bad") as info:
        parse_channels({"bad": settings}, source="site.yaml")
    assert problem in str(info.value)


def _payload_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_file_channel_is_idempotent(tmp_path: Path, make_payload: MakePayload) -> None:
    payload = make_payload()
    channel = build_channel("log", {"type": "file", "directory": str(tmp_path / "out")})
    key = payload.idempotency_key("log", "Geo Logist <geo@example.org>")
    ref = channel.send(payload, "Geo Logist <geo@example.org>", key, {EVIDENCE_MAP_ATTACHMENT: b"png"})
    stem = "north-slope-42-geo-logist-geo-example-org-orange"
    assert ref == str(tmp_path / "out" / f"{stem}.eml")
    assert _payload_files(tmp_path / "out") == [f"{stem}.eml", f"{stem}.json", f"{stem}.png"]
    record = json.loads((tmp_path / "out" / f"{stem}.json").read_text())
    assert record["idempotency_key"] == key
    assert AlertPayload.model_validate(record["payload"]) == payload
    message = email.message_from_bytes(Path(ref).read_bytes(), _class=EmailMessage, policy=default_policy)
    assert message["X-Geowarn-Idempotency-Key"] == key
    before = Path(ref).stat().st_mtime_ns
    assert channel.send(payload, "Geo Logist <geo@example.org>", key, {}) == ref
    assert Path(ref).stat().st_mtime_ns == before
    assert _payload_files(tmp_path / "out") == [f"{stem}.eml", f"{stem}.json", f"{stem}.png"]


def test_file_channel_unwritable_is_transient(tmp_path: Path, make_payload: MakePayload) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folder should be")
    channel = build_channel("log", {"type": "file", "directory": str(blocker / "out")})
    with pytest.raises(DeliveryError, match="cannot write alert files") as info:
        channel.send(make_payload(), "geo@example.org", "k", {})
    assert info.value.transient is True


def test_console_channel(make_payload: MakePayload) -> None:
    stream = io.StringIO()
    channel = ConsoleChannel("console", stream)
    assert channel.send(make_payload(), "ops", "key-1", {}) == "stdout"
    assert "[geowarn] ORANGE – North slope" in stream.getvalue() and "key-1" in stream.getvalue()


def test_deliver_logs_without_secrets(
    tmp_path: Path, make_payload: MakePayload, caplog: pytest.LogCaptureFixture
) -> None:
    channel = build_channel("log", {"type": "file", "directory": str(tmp_path)})
    with caplog.at_level(logging.INFO, logger="geowarn.alerts"):
        ref = deliver(channel, make_payload(), "geo@example.org", channel_name="log")
    record = next(r for r in caplog.records if r.getMessage() == "alert delivered")
    assert record.__dict__["ref"] == ref and record.__dict__["channel"] == "log"

    class Failing:
        kind = "webhook"

        def send(self, *args: object) -> str:
            raise DeliveryError("boom", transient=True, status=503)

    with caplog.at_level(logging.INFO, logger="geowarn.alerts"), pytest.raises(DeliveryError):
        deliver(Failing(), make_payload(), "ops", channel_name="hook")
    failed = next(r for r in caplog.records if r.getMessage() == "alert delivery failed")
    assert failed.levelno == logging.WARNING and failed.__dict__["transient"] is True


def test_delivery_error_pickles() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(DeliveryError("x", transient=False, status=400, retry_after_s=None)))
    assert (str(error), error.transient, error.status) == ("x", False, 400)
