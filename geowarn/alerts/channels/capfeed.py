"""CAP 1.2 channel: the alert as ``<directory>/<identifier>.xml`` and/or POSTed to a CAP aggregator."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from geowarn.alerts.cap import CAP_CONTENT_TYPE, build_cap
from geowarn.alerts.channels.base import DeliveryError, fill_template, template_values, write_bytes_atomic
from geowarn.alerts.channels.config import CapChannelConfig
from geowarn.alerts.channels.http import HttpClient, safe_url
from geowarn.alerts.payload import EVIDENCE_MAP_ATTACHMENT, AlertPayload
from geowarn.alerts.render import render_sms


class CapChannel:
    """One CAP message per alert: the same file and POST body for every recipient (idempotent)."""

    kind = "cap"

    def __init__(self, name: str, config: CapChannelConfig, directory: Path | None, secrets: Mapping[str, str]) -> None:
        self.name = name
        self.config = config
        self.directory = directory
        self._secrets = {f"env:{k}": v for k, v in secrets.items()}
        self._http = HttpClient(config.timeout_s, config.ca_file) if config.url else None

    def __repr__(self) -> str:
        url = safe_url(self.config.url) if self.config.url else None
        return f"CapChannel({self.name!r}, directory={self.directory}, url={url})"

    def send(
        self, payload: AlertPayload, recipient: str, idempotency_key: str, attachments: Mapping[str, bytes]
    ) -> str:
        """Write and/or POST the CAP XML; return ``<path>`` and/or ``HTTP <status>`` joined by ``; ``.

        Raises:
            DeliveryError: transient when the file cannot be written or the POST fails transiently.

        """
        evidence = attachments.get(EVIDENCE_MAP_ATTACHMENT) if self.config.include_map else None
        xml = build_cap(payload, self.config.sender, status=self.config.status, map_png=evidence)
        refs = []
        if self.directory is not None:
            path = self.directory / f"{payload.cap_identifier()}.xml"
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(path, xml)
            except OSError as exc:
                raise DeliveryError(
                    f"channel {self.name!r}: cannot write {path} ({exc.strerror or exc}); check the folder and its "
                    "permissions; will retry",
                    transient=True,
                ) from exc
            refs.append(str(path))
        if self._http is not None and self.config.url is not None:
            headers = {"Content-Type": CAP_CONTENT_TYPE, "Idempotency-Key": idempotency_key}
            if self.config.headers:
                values = {**template_values(payload, recipient, idempotency_key, render_sms(payload)), **self._secrets}
                headers.update({k: fill_template(v, values) for k, v in self.config.headers.items()})
            where = f"channel {self.name!r} ({safe_url(self.config.url)})"
            response = self._http.request(where, self.config.url, body=xml, headers=headers)
            refs.append(f"HTTP {response.status}")
        return "; ".join(refs)
