"""Email through SMTP (STARTTLS, implicit TLS or plain), and the MIME message the file channel also writes."""

from __future__ import annotations

import base64
import mimetypes
import re
import smtplib
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from geowarn import inputs
from geowarn.alerts.channels.base import DeliveryError
from geowarn.alerts.channels.config import EmailChannelConfig
from geowarn.alerts.payload import EVIDENCE_MAP_ATTACHMENT, AlertPayload
from geowarn.alerts.render import render_html, render_text

_MSGID_UNSAFE = re.compile(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def mailbox(text: str) -> Address | str:
    """``user@example.org`` or ``Name <user@example.org>`` as a header Address; a plain label stays text.

    Both go through the email library's header policy, which refuses line breaks in a header
    (``ValueError``), so a value can never add a header of its own.
    """
    if _CONTROL.search(text):
        raise ValueError(f"{text!r} holds a line break or control character; it cannot go into a header")
    name, addr = parseaddr(text)
    local, at, domain = addr.rpartition("@")
    if at and local and domain:
        return Address(display_name=name, username=local, domain=domain)
    return text


def header_text(text: str) -> str:
    """A free text (a subject) on one line: control characters and line breaks become spaces."""
    return _CONTROL.sub(" ", text).strip()


def message_id(idempotency_key: str, from_addr: str) -> str:
    """``<key@sender-domain>``: the same delivery always carries the same Message-ID, so receivers de-duplicate."""
    domain = parseaddr(from_addr)[1].rpartition("@")[2] or "geowarn.invalid"
    local = _MSGID_UNSAFE.sub("-", idempotency_key).strip(".") or "geowarn"
    return f"<{local}@{domain}>"


def build_email_message(
    payload: AlertPayload,
    *,
    from_addr: str,
    recipient: str,
    idempotency_key: str,
    attachments: Mapping[str, bytes],
    reply_to: str | None = None,
) -> EmailMessage:
    """multipart/mixed: text + HTML alternatives (the evidence map inline in the HTML), then the attachments.

    The evidence map (attachment :data:`EVIDENCE_MAP_ATTACHMENT`) is both shown inline and attached, so
    mail clients that block inline images still give it to the reader.
    """
    msg = EmailMessage()
    msg["Subject"] = header_text(payload.subject())
    msg["From"] = mailbox(from_addr)
    msg["To"] = mailbox(recipient)
    if reply_to:
        msg["Reply-To"] = mailbox(reply_to)
    msg["Date"] = format_datetime(payload.issued_at)
    msg["Message-ID"] = message_id(idempotency_key, from_addr)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Geowarn-Idempotency-Key"] = idempotency_key
    msg["X-Geowarn-Alert"] = f"{payload.site_id} {payload.alert_id} {payload.level}"
    if payload.level == "red":
        msg["Importance"] = "high"
        msg["X-Priority"] = "1"
    evidence = attachments.get(EVIDENCE_MAP_ATTACHMENT)
    cid = message_id(f"evidence-map-{payload.site_id}-{payload.alert_id}", from_addr)[1:-1] if evidence else None
    msg.set_content(render_text(payload))
    msg.add_alternative(render_html(payload, cid), subtype="html")
    if evidence is not None and cid is not None:
        html_part = next(p for p in msg.iter_parts() if p.get_content_type() == "text/html")
        html_part.add_related(evidence, "image", "png", cid=f"<{cid}>", filename=EVIDENCE_MAP_ATTACHMENT)
    for name, data in attachments.items():
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def compose(
    where: str,
    payload: AlertPayload,
    *,
    from_addr: str,
    recipient: str,
    idempotency_key: str,
    attachments: Mapping[str, bytes],
    reply_to: str | None = None,
) -> EmailMessage:
    """:func:`build_email_message`, a value that cannot go into a header raised as a permanent DeliveryError."""
    try:
        return build_email_message(
            payload,
            from_addr=from_addr,
            recipient=recipient,
            idempotency_key=idempotency_key,
            attachments=attachments,
            reply_to=reply_to,
        )
    except (ValueError, TypeError) as exc:  # e.g. a line break in an address
        raise DeliveryError(
            f"{where}: cannot build the message for {recipient!r} ({exc}); fix the recipient or the channel's "
            "addresses",
            transient=False,
        ) from None


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """Log in; a non-ASCII user name or password goes by AUTH PLAIN in UTF-8 (RFC 4616), which smtplib cannot do."""
    if username.isascii() and password.isascii():
        smtp.login(username, password)
        return
    methods = (smtp.esmtp_features.get("auth") or "").upper().split()
    if "PLAIN" not in methods:
        raise smtplib.SMTPNotSupportedError(
            "the user name or password is not ASCII, which only AUTH PLAIN carries, and the server does not offer it"
        )
    token = base64.b64encode(b"\0" + username.encode("utf-8") + b"\0" + password.encode("utf-8")).decode("ascii")
    code, reply = smtp.docmd("AUTH", "PLAIN " + token)
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, reply)


def _code_error(what: str, code: int, reply: bytes | str, context: str) -> DeliveryError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    transient = 400 <= code < 500
    advice = "will retry" if transient else "not retried"
    return DeliveryError(f"{what}: {context}: SMTP {code} {text.strip()}; {advice}", transient=transient, status=code)


class EmailChannel:
    """Sends one email per recipient; see :class:`EmailChannelConfig`."""

    kind = "email"

    def __init__(self, name: str, config: EmailChannelConfig, password: str | None = None) -> None:
        self.name = name
        self.config = config
        self._password = password
        self._context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)

    def __repr__(self) -> str:
        return f"EmailChannel({self.name!r}, {self.config.host}:{self.config.effective_port}, {self.config.security})"

    def send(
        self, payload: AlertPayload, recipient: str, idempotency_key: str, attachments: Mapping[str, bytes]
    ) -> str:
        """Deliver by SMTP; return the Message-ID.

        Raises:
            DeliveryError: transient for connection problems, timeouts, TLS failures and 4xx replies;
                permanent for a malformed address, 5xx replies and a server lacking STARTTLS/AUTH.

        """
        cfg = self.config
        where = f"channel {self.name!r} (smtp {cfg.host}:{cfg.effective_port})"
        try:
            inputs.email_address(recipient)
        except ValueError as exc:
            raise DeliveryError(f"{where}: recipient {recipient!r}: {exc}", transient=False) from None
        address = parseaddr(recipient)[1]
        msg = compose(
            where,
            payload,
            from_addr=cfg.from_addr,
            recipient=recipient,
            idempotency_key=idempotency_key,
            attachments=attachments,
            reply_to=cfg.reply_to,
        )
        try:
            smtp: smtplib.SMTP
            if cfg.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    cfg.host, cfg.effective_port, cfg.helo_name, timeout=cfg.timeout_s, context=self._context
                )
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.effective_port, cfg.helo_name, timeout=cfg.timeout_s)
            with smtp:
                smtp.ehlo()
                if cfg.security == "starttls":
                    smtp.starttls(context=self._context)
                    smtp.ehlo()
                if cfg.username is not None and self._password is not None:
                    _login(smtp, cfg.username, self._password)
                smtp.send_message(msg, from_addr=parseaddr(cfg.from_addr)[1], to_addrs=[address])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b"refused"))
            raise _code_error(where, code, reply, f"recipient {address} refused") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(
                f"{where}: {exc} (security: {cfg.security}); use the security the relay offers, or remove username "
                "if it does not authenticate",
                transient=False,
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise _code_error(where, exc.smtp_code, exc.smtp_error, f"login as {cfg.username} failed") from exc
        except smtplib.SMTPSenderRefused as exc:
            raise _code_error(where, exc.smtp_code, exc.smtp_error, f"sender {cfg.from_addr} refused") from exc
        except smtplib.SMTPConnectError as exc:
            raise DeliveryError(
                f"{where}: server refused the connection (SMTP {exc.smtp_code}); will retry",
                transient=True,
                status=exc.smtp_code,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise _code_error(where, exc.smtp_code, exc.smtp_error, "message not accepted") from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"{where}: TLS certificate not trusted ({exc.verify_message}); set ca_file if the relay uses a "
                "private CA; will retry",
                transient=True,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}; will retry", transient=True) from exc
        except (ValueError, UnicodeError) as exc:  # a value smtplib cannot encode: retrying cannot help
            raise DeliveryError(
                f"{where}: {type(exc).__name__}: {exc}; not retried, fix the channel settings", transient=False
            ) from None
        return str(msg["Message-ID"])
