"""The file channel: alerts as ``.eml`` + ``.json`` + ``.png`` files in a folder (no server), or on stdout."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from geowarn.alerts.channels.base import DeliveryError, slug, write_bytes_atomic
from geowarn.alerts.channels.config import FileChannelConfig
from geowarn.alerts.channels.smtp import compose
from geowarn.alerts.payload import EVIDENCE_MAP_ATTACHMENT, AlertPayload
from geowarn.alerts.render import render_text
from geowarn.logs import log_event

logger = logging.getLogger(__name__)


def alert_file_stem(payload: AlertPayload, recipient: str) -> str:
    """``<site_id>-<alert_id>-<recipient slug>-<level>``, e.g. ``north-slope-42-ops-example-org-orange``.

    Reminders end in ``-reminder-<n>``, so they never replace the alert's own files.
    """
    stem = f"{payload.site_id}-{payload.alert_id}-{slug(recipient)}-{payload.level}"
    return f"{stem}-reminder-{payload.reminder}" if payload.reminder else stem


def _existing_key(path: Path) -> str | None:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("idempotency_key") if isinstance(data, dict) else None


class FileChannel:
    """Writes ``<stem>.eml`` (the full email, openable in a mail client), ``<stem>.png`` and ``<stem>.json``.

    The ``.json`` file (payload and idempotency key) is written last and marks a complete delivery:
    sending again with the same key is a no-op. A different key replaces the files.
    """

    kind = "file"

    def __init__(self, name: str, config: FileChannelConfig, directory: Path) -> None:
        self.name = name
        self.config = config
        self.directory = directory

    def __repr__(self) -> str:
        return f"FileChannel({self.name!r}, {self.directory})"

    def send(
        self, payload: AlertPayload, recipient: str, idempotency_key: str, attachments: Mapping[str, bytes]
    ) -> str:
        """Write the files; return the ``.eml`` path.

        Raises:
            DeliveryError: transient when the folder cannot be written (full disk, permissions); permanent
                when a value cannot go into the message's headers.

        """
        stem = alert_file_stem(payload, recipient)
        eml, marker = self.directory / f"{stem}.eml", self.directory / f"{stem}.json"
        if _existing_key(marker) == idempotency_key and eml.exists():
            log_event(logger, "alert file already written", channel=self.name, idempotency_key=idempotency_key)
            return str(eml)
        message = compose(
            f"channel {self.name!r}",
            payload,
            from_addr=self.config.from_addr,
            recipient=recipient,
            idempotency_key=idempotency_key,
            attachments=attachments,
        )
        record = {
            "idempotency_key": idempotency_key,
            "channel": self.name,
            "recipient": recipient,
            "message_id": str(message["Message-ID"]),
            "payload": payload.model_dump(mode="json"),
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if (evidence := attachments.get(EVIDENCE_MAP_ATTACHMENT)) is not None:
                write_bytes_atomic(self.directory / f"{stem}.png", evidence)
            write_bytes_atomic(eml, message.as_bytes())
            write_bytes_atomic(marker, (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        except OSError as exc:
            raise DeliveryError(
                f"channel {self.name!r}: cannot write alert files in {self.directory} ({exc.strerror or exc}); "
                "check the folder, its permissions and free space; will retry",
                transient=True,
            ) from exc
        return str(eml)


class ConsoleChannel:
    """Prints the plain-text alert to stdout (demos, cron mails, container logs)."""

    kind = "file"

    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self._stream = stream

    def __repr__(self) -> str:
        return f"ConsoleChannel({self.name!r})"

    def send(
        self, payload: AlertPayload, recipient: str, idempotency_key: str, attachments: Mapping[str, bytes]
    ) -> str:
        """Print subject, recipient and text; return ``stdout``."""
        stream = self._stream or sys.stdout
        rule = "=" * 72
        stream.write(f"{rule}\n{payload.subject()}\nTo: {recipient}  [{idempotency_key}]\n{rule}\n")
        stream.write(render_text(payload) + "\n")
        stream.flush()
        return "stdout"
