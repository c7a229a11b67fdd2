from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from geowarn.alerts.channels import DeliveryError, EmailChannel, build_channel, parse_channels
from geowarn.alerts.payload import EVIDENCE_MAP_ATTACHMENT, AlertPayload
from geowarn.errors import ConfigError
from tests.hardening import tally

MakePayload = Callable[..., AlertPayload]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
RECIPIENT = "geologist@example.org"


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str], bool]] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        if address.startswith("busy@"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, _class=EmailMessage, policy=default_policy)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), bool(session.authenticated)))
        return "250 Message accepted"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"geowarn", b"s3cret")
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Inbox, int]]]:
    controllers: list[Controller] = []

    def start(**smtp_kwargs: Any) -> tuple[Inbox, int]:
        inbox, port = Inbox(), free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_kwargs)
        controller.start()
        controllers.append(controller)
        return inbox, port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Self-signed certificate for 127.0.0.1/localhost (openssl command line)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("neither the cryptography package nor the openssl command is available to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def channel(port: int, **settings: Any) -> EmailChannel:
    config: dict[str, Any] = {"type": "email", "host": "127.0.0.1", "port": port, "security": "none"}
    config.update({"from_addr": "geowarn@example.org", "timeout_s": 5, **settings})
    built = build_channel("ops-mail", config, env={"GEOWARN_SMTP_PASSWORD": "s3cret"})
    assert isinstance(built, EmailChannel)
    return built


def send(chan: EmailChannel, payload: AlertPayload, recipient: str = RECIPIENT) -> tuple[str, str]:
    key = payload.idempotency_key("ops-mail", recipient)
    return chan.send(payload, recipient, key, {EVIDENCE_MAP_ATTACHMENT: PNG, "alert.json": b"{}"}), key


def test_email_with_text_html_inline_map_and_attachments(
    smtp_server: Callable[..., tuple[Inbox, int]], make_payload: MakePayload
) -> None:
    inbox, port = smtp_server()
    payload = make_payload()
    ref, key = send(channel(port), payload)
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert ref == msg["Message-ID"] == f"<{key}@example.org>"
    assert msg["X-Geowarn-Idempotency-Key"] == key
    assert msg["Subject"] == payload.subject()
    assert msg["To"] == RECIPIENT
    assert inbox.envelopes[0][:2] == ("geowarn@example.org", [RECIPIENT])
    body = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert body is not None and html is not None
    assert "extension 31.2 ± 2.1 mm/day" in body.get_content()
    related = [p for p in msg.walk() if p.get_content_type() == "image/png" and p["Content-ID"]]
    assert len(related) == 1 and related[0].get_payload(decode=True) == PNG
    cid = related[0]["Content-ID"].strip().strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    attached = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    assert attached == {EVIDENCE_MAP_ATTACHMENT: PNG, "alert.json": b"{}"}


def test_same_key_same_message_id(smtp_server: Callable[..., tuple[Inbox, int]], make_payload: MakePayload) -> None:
    inbox, port = smtp_server()
    chan = channel(port)
    first, _ = send(chan, make_payload())
    second, _ = send(chan, make_payload())
    assert first == second
    assert inbox.messages[0]["Message-ID"] == inbox.messages[1]["Message-ID"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_auth_without_tls(smtp_server: Callable[..., tuple[Inbox, int]], make_payload: MakePayload) -> None:
    inbox, port = smtp_server(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    send(channel(port, username="geowarn", password_env="GEOWARN_SMTP_PASSWORD"), make_payload())
    assert inbox.envelopes[0][2] is True
    bad = build_channel(
        "ops-mail",
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from_addr": "geowarn@example.org",
            "username": "geowarn",
            "password_env": "PW",
            "timeout_s": 5,
        },
        env={"PW": "wrong"},
    )
    with pytest.raises(DeliveryError, match="login as geowarn failed") as info:
        send(bad, make_payload())  # type: ignore[arg-type]
    assert info.value.transient is False and info.value.status == 535
    assert "wrong" not in str(info.value)


def test_starttls_with_private_ca(
    smtp_server: Callable[..., tuple[Inbox, int]], make_payload: MakePayload, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = smtp_server(
        tls_context=context, require_starttls=True, authenticator=authenticator, auth_required=True
    )
    chan = channel(
        port, security="starttls", ca_file=str(cert), username="geowarn", password_env="GEOWARN_SMTP_PASSWORD"
    )
    send(chan, make_payload())
    assert len(inbox.messages) == 1 and inbox.envelopes[0][2] is True
    untrusted = channel(port, security="starttls")  # system CAs do not know the test certificate
    with pytest.raises(DeliveryError, match="certificate not trusted") as info:
        send(untrusted, make_payload())
    assert info.value.transient is True


def test_server_down_is_transient(closed_port: int, make_payload: MakePayload) -> None:
    with pytest.raises(DeliveryError, match="will retry") as info:
        send(channel(closed_port), make_payload())
    assert info.value.transient is True
    assert isinstance(info.value, OSError)


def test_recipient_refusals(smtp_server: Callable[..., tuple[Inbox, int]], make_payload: MakePayload) -> None:
    _, port = smtp_server()
    chan = channel(port)
    with pytest.raises(DeliveryError) as permanent:
        send(chan, make_payload(), "nobody@example.org")
    assert permanent.value.transient is False and permanent.value.status == 550
    with pytest.raises(DeliveryError) as transient:
        send(chan, make_payload(), "busy@example.org")
    assert transient.value.transient is True and transient.value.status == 451
    with pytest.raises(DeliveryError, match="not an email address") as malformed:
        send(chan, make_payload(), "not-an-address")
    assert malformed.value.transient is False


def test_missing_password_variable_names_channel_field_and_variable() -> None:
    settings = {
        "type": "email",
        "host": "smtp.example.org",
        "username": "geowarn",
        "password_env": "GEOWARN_SMTP_PASSWORD",
        "from_addr": "geowarn@example.org",
    }
    with pytest.raises(ConfigError, match=r"'ops-mail'.*password_env.*GEOWARN_SMTP_PASSWORD"):
        build_channel("ops-mail", settings, env={})
    with pytest.raises(ConfigError, match="username and password_env"):
        parse_channels({"ops-mail": {**settings, "password_env": None}})


def test_implicit_tls(
    smtp_server: Callable[..., tuple[Inbox, int]], make_payload: MakePayload, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = smtp_server(ssl_context=context)
    send(channel(port, security="ssl", ca_file=str(cert)), make_payload())
    assert len(inbox.messages) == 1


def test_starttls_missing_is_permanent(
    smtp_server: Callable[..., tuple[Inbox, int]], make_payload: MakePayload
) -> None:
    inbox, port = smtp_server()
    with pytest.raises(DeliveryError, match="STARTTLS") as info:
        send(channel(port, security="starttls"), make_payload())
    assert info.value.transient is False
    assert inbox.messages == []


def utf8_authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"geowarn",
        "pässwörd-ø".encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_non_ascii_password_logs_in_with_auth_plain_in_utf8(
    smtp_server: Callable[..., tuple[Inbox, int]], make_payload: MakePayload
) -> None:
    inbox, port = smtp_server(authenticator=utf8_authenticator, auth_required=True, auth_require_tls=False)
    config = {"type": "email", "host": "127.0.0.1", "port": port, "security": "none", "timeout_s": 5}
    config.update({"from_addr": "geowarn@example.org", "username": "geowarn", "password_env": "PW"})
    good = build_channel("ops-mail", config, env={"PW": "pässwörd-ø"})
    send(good, make_payload())  # type: ignore[arg-type]
    assert inbox.envelopes[0][2] is True
    wrong = build_channel("ops-mail", config, env={"PW": "wröng-pass"})
    with pytest.raises(DeliveryError, match="login as geowarn failed") as info:
        send(wrong, make_payload())  # type: ignore[arg-type]
    assert info.value.transient is False and "wröng" not in str(info.value)
    tally("delivery faults", clean=len(inbox.messages) == 1)


@pytest.mark.parametrize(
    "recipient", ["ops@example.org\nBcc: everyone@example.org", "ops@example.org\r\nX: y", "a\x00@example.org"]
)
def test_a_line_break_in_a_recipient_is_a_permanent_failure_not_a_crash(
    smtp_server: Callable[..., tuple[Inbox, int]], make_payload: MakePayload, tmp_path: Path, recipient: str
) -> None:
    from geowarn.alerts.channels import FileChannel

    inbox, port = smtp_server()
    files = build_channel("files", {"type": "file", "directory": str(tmp_path)})
    assert isinstance(files, FileChannel)
    for chan in (channel(port), files):
        with pytest.raises(DeliveryError) as info:
            chan.send(make_payload(), recipient, "key", {})
        assert info.value.transient is False
    assert inbox.messages == [] and not list(tmp_path.iterdir())
    tally("delivery faults", clean=True)


def test_a_site_name_cannot_add_a_header(make_payload: MakePayload) -> None:
    from geowarn.alerts.channels.smtp import build_email_message

    payload = make_payload().model_copy(update={"site_name": "North slope\nBcc: attacker@example.org"})
    msg = build_email_message(
        payload, from_addr="geowarn@example.org", recipient=RECIPIENT, idempotency_key="k", attachments={}
    )
    parsed = email.message_from_bytes(msg.as_bytes(), _class=EmailMessage, policy=default_policy)
    assert parsed["Bcc"] is None and len(parsed.get_all("Subject") or []) == 1
    assert "North slope Bcc: attacker@example.org" in str(msg["Subject"])
