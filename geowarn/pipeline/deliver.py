"""Send what the outbox holds: due reminders queued, then due deliveries through each site's channels.

Apart from ``monitor`` (which calls it after processing surveys) so that ``geowarn outbox flush``,
scheduled every few minutes, starts without loading the models.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from geowarn.alerts.outbox import FlushReport, flush_outbox, site_channels
from geowarn.alerts.reminders import queue_reminders
from geowarn.errors import GeowarnError
from geowarn.logs import log_event
from geowarn.redact import redact
from geowarn.store.schema import Site
from geowarn.workspace import WorkspaceDir

log = logging.getLogger("geowarn.monitor")


def reason(exc: BaseException) -> str:
    """``Type: message`` on one line, secrets masked (a GeowarnError's message says it all)."""
    text = " ".join(str(exc).split()) or "no message"
    return redact(text if isinstance(exc, GeowarnError) else f"{type(exc).__name__}: {text}")


def flush_site_outbox(
    ws: WorkspaceDir, *, force: bool = False, now: datetime | None = None, reminders: bool = True
) -> FlushReport:
    """Queue the due reminders (unless not ``reminders``), then send the due deliveries of every site.

    Reminders that cannot be queued (logged as an error) never keep the due deliveries from going out.
    """
    if reminders:
        try:
            queue_site_reminders(ws, now)
        except Exception as exc:
            log_event(log, "reminders not queued", level=logging.ERROR, error=reason(exc))

    def base_dir(site: Site) -> Path | None:
        return Path(site.config_path).parent if site.config_path else ws.home

    return flush_outbox(ws.store, site_channels(base_dir, ws.site_config), force=force, now=now)


def queue_site_reminders(ws: WorkspaceDir, now: datetime | None = None) -> list[int]:
    """Queue the reminders due at ``now`` (default: now, UTC) with each site's rules; returns the new delivery ids."""
    return queue_reminders(ws.store, now or datetime.now(UTC), ws.site_config)
