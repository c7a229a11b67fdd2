"""``geowarn.Workspace``: sites, surveys, monitoring, tracked cracks and alerts of one workspace.

The command line, a scheduler and a dashboard all go through this class: its methods return data
(typed records, GeoDataFrames, reports) and raise ``GeowarnError`` subclasses; none of them prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geowarn import inputs
from geowarn.alerts.admin import (
    Acknowledgement,
    AlertDetail,
    AlertInfo,
    DeliveryInfo,
    ack_alert,
    get_alert,
    list_alerts,
    list_deliveries,
)
from geowarn.redact import redact_url
from geowarn.store.db import sqlite_url
from geowarn.store.queries import get_site
from geowarn.workspace import WorkspaceDir, open_workspace
from geowarn.workspace.sites import (
    SiteInfo,
    SurveyAdded,
    SurveyInfo,
    add_site,
    add_survey,
    configure_site,
    list_sites,
    list_surveys,
    remove_survey,
    replace_survey,
    retry_survey,
)
from geowarn.workspace.sites import site_info as get_site_info

if TYPE_CHECKING:
    import geopandas as gpd

    from geowarn.alerts.outbox import FlushReport
    from geowarn.inference.cascade import Cascade
    from geowarn.pipeline.detect_config import DetectConfig
    from geowarn.pipeline.report import MonitorReport
    from geowarn.store.users import UserAdded, UserInfo

#: Suffixes of a path taken for a SQLite database file rather than a workspace folder.
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def _open(db_url_or_path: str | Path | None, home: str | Path | None) -> WorkspaceDir:
    target = str(db_url_or_path) if db_url_or_path is not None else None
    if target is not None and "://" in target:
        return open_workspace(Path(home) if home is not None else None, target)
    if target is not None and Path(target).suffix.lower() in SQLITE_SUFFIXES:
        db = Path(target).resolve()
        return open_workspace(Path(home) if home is not None else db.parent, sqlite_url(db))
    folder = Path(target) if target is not None else Path(home) if home is not None else None
    return open_workspace(folder)


class Workspace:
    """A monitoring workspace: its sites and their surveys, monitoring, tracked cracks and alerts.

    Args:
        db_url_or_path: a workspace folder (created if needed; its database is ``geowarn.db``), a
            SQLite file (``*.db``; the folder beside it holds the outputs) or a SQLAlchemy URL.
            None: ``$GEOWARN_HOME`` (default ``./geowarn-data``) and ``$GEOWARN_DB``.
        home: the folder for detection outputs, evidence maps and the file outbox, when
            ``db_url_or_path`` is a database (default: as above).

    The database is created and migrated to the newest schema on opening. Use it as a context
    manager, or call :meth:`close`.

    Example:
        >>> with geowarn.Workspace("geowarn-data") as ws:
        ...     ws.add_site("north-slope", config="config/site.example.yaml")
        ...     ws.add_survey("north-slope", "flight-2026-05-01.tif", date(2026, 5, 1))
        ...     report = ws.monitor()
        ...     ws.cracks("north-slope").plot(column="length_m")

    """

    def __init__(self, db_url_or_path: str | Path | None = None, *, home: str | Path | None = None) -> None:
        self._dir = _open(db_url_or_path, home)

    @property
    def home(self) -> Path:
        """The folder of detection outputs (``runs/``), evidence maps and the file outbox (``outbox/``)."""
        return self._dir.home

    def close(self) -> None:
        """Close the database connections."""
        self._dir.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.home)!r}, db={redact_url(self._dir.store.url)!r})"

    # --- sites and surveys

    def add_site(self, site: str, name: str | None = None, config: str | Path | None = None) -> SiteInfo:
        """Create a site; its YAML (rules, recipients, channels) is validated now and read at every run.

        Raises:
            ConfigError: a bad id, an existing site or an invalid config.

        """
        return add_site(self._dir, site, name, Path(config) if config is not None else None)

    def configure_site(self, site: str, *, name: str | None = None, config: str | Path | None = None) -> SiteInfo:
        """Rename a site or give it another YAML (validated now); None keeps the current value.

        Raises:
            ConfigError: no such site, a bad name or an invalid config.

        """
        return configure_site(self._dir, site, name, Path(config) if config is not None else None)

    def sites(self) -> list[SiteInfo]:
        """Every site with its surveys, tracked cracks, level and open acknowledgements."""
        return list_sites(self._dir)

    def site(self, site: str) -> SiteInfo:
        """One site (``ConfigError`` when there is none of that id)."""
        return get_site_info(self._dir, site)

    def add_survey(
        self, site: str, ortho: str | Path, date: dt.date | str, *, max_pixels: float | None = None
    ) -> SurveyAdded:
        """Register an orthomosaic as a pending survey of ``site``; the same file twice is a no-op.

        Args:
            site: the site's id.
            ortho: the orthomosaic (GeoTIFF/COG in the site's CRS).
            date: the acquisition date (``YYYY-MM-DD`` text or a date), after the site's latest survey.
            max_pixels: the largest raster accepted (default ``$GEOWARN_MAX_PIXELS``, else 4e9).

        Raises:
            InvalidRasterError: the file is not a usable orthomosaic, or too large (nothing is stored).
            ConfigError: unknown site, a CRS other than the site's, a date in the future or not after
                its latest survey (failed ones included).

        """
        when: dt.date = inputs.entered("survey date", date, inputs.iso_date)
        return add_survey(self._dir, site, Path(ortho), when, max_pixels=max_pixels)

    def retry_survey(self, site: str, survey: int) -> SurveyAdded:
        """Make a failed survey pending again: the next :meth:`monitor` processes it.

        Raises:
            ConfigError: no such survey, or it was processed or flagged.

        """
        return retry_survey(self._dir, site, survey)

    def replace_survey(
        self, site: str, survey: int, ortho: str | Path, *, max_pixels: float | None = None
    ) -> SurveyAdded:
        """Give a pending or failed survey another file (its date stays); it becomes pending.

        Raises:
            InvalidRasterError: the new file is not usable (nothing changes).
            ConfigError: no such survey, it was processed or flagged, or the file is another survey's.

        """
        return replace_survey(self._dir, site, survey, Path(ortho), max_pixels=max_pixels)

    def remove_survey(self, site: str, survey: int) -> str:
        """Delete a pending or failed survey (its "no data" alerts stay); a survey of its date can be added again.

        Returns:
            A message saying what was removed.

        Raises:
            ConfigError: no such survey, or it was processed or flagged (part of the site's history).

        """
        return remove_survey(self._dir, site, survey)

    def surveys(self, site: str) -> list[SurveyInfo]:
        """The surveys of ``site``, oldest first, with their status and co-registration."""
        return list_surveys(self._dir, site)

    # --- monitoring

    def monitor(
        self,
        site: str | None = None,
        *,
        detect: DetectConfig | Mapping[str, Any] | str | Path | None = None,
        today: dt.date | None = None,
        deliver: bool = True,
        retry_failed: bool = False,
        cascade: Cascade | None = None,
        overdue_days: float | None = None,
    ) -> MonitorReport:
        """Process the pending surveys of ``site`` (or every site): detect, register, track, assess, alert.

        Safe to schedule and to re-run: a survey is processed once, and a crash leaves it pending.

        Args:
            site: only this site.
            detect: detect settings: a ``DetectConfig``, a mapping of its keys, or a YAML file.
                Monitoring segments every tile unless they name a ``classifier``.
            today: the date for the overdue check (default: today, UTC).
            deliver: send due alerts afterwards (else they wait in the outbox).
            retry_failed: process surveys that failed before once more.
            cascade: models already loaded (``geowarn.pipeline.rows.load_cascade``).
            overdue_days: how often a survey is expected, instead of the site's ``rules.overdue_days``.

        Returns:
            One ``SurveyResult`` per survey processed (``report.surveys``), the overdue checks and
            what the outbox sent; ``str(report)`` is what ``geowarn monitor`` prints.

        """
        from geowarn.pipeline.detect_config import MONITOR_DETECT_DEFAULTS, DetectConfig, load_detect_config
        from geowarn.pipeline.monitor import Processor, monitor

        if isinstance(detect, DetectConfig):
            detect_config = detect
        elif isinstance(detect, Mapping):
            detect_config = load_detect_config(None, detect, MONITOR_DETECT_DEFAULTS, overrides_from="detect settings")
        else:
            detect_config = load_detect_config(Path(detect) if detect else None, None, MONITOR_DETECT_DEFAULTS)
        processor = Processor(self._dir, detect_config, cascade=cascade)
        return monitor(
            self._dir,
            site,
            processor=processor,
            today=today,
            deliver=deliver,
            retry_failed=retry_failed,
            overdue_days=overdue_days,
        )

    # --- tracked cracks

    def cracks(self, site: str, survey: int | None = None) -> gpd.GeoDataFrame:
        """The cracks of the site's latest processed survey (or survey id ``survey``), one row each.

        ``crack_id`` is the crack's stable id across surveys; polygons (``geometry``) and
        ``centerline`` are in the site frame and CRS; measurements in metres with 1-sigma
        uncertainties.
        """
        from geowarn.tracking.history import survey_cracks

        with self._dir.store.transaction() as session:
            return survey_cracks(session, get_site(session, site), survey)

    def crack_history(self, site: str, crack_id: int) -> gpd.GeoDataFrame:
        """One crack in every survey that saw it, oldest first, with its extension and rate since the last."""
        from geowarn.tracking.history import crack_history

        with self._dir.store.transaction() as session:
            return crack_history(session, get_site(session, site), crack_id)

    # --- alerts and their delivery

    def alerts(self, site: str | None = None, *, unacked: bool = False) -> list[AlertInfo]:
        """Alerts, newest first; ``unacked``: only those still awaiting acknowledgement."""
        return list_alerts(self._dir.store, site, unacked=unacked)

    def acknowledge(self, alert_id: int, by: str, note: str | None = None) -> Acknowledgement:
        """Acknowledge an alert (orange and red need it); a second acknowledgement keeps the first.

        Raises:
            ConfigError: no such alert, or ``by`` is empty.

        """
        return ack_alert(self._dir.store, alert_id, by, note)

    def alert(self, alert_id: int) -> AlertDetail:
        """One alert with its payload (every crack behind it), evidence map and acknowledgement.

        Raises:
            ConfigError: no such alert.

        """
        return get_alert(self._dir.store, alert_id)

    def deliveries(self, status: str | None = None) -> list[DeliveryInfo]:
        """Outbox rows, oldest first; ``status``: only ``pending``, ``sent``, ``failed`` or ``cancelled``."""
        return list_deliveries(self._dir.store, status)

    def flush_outbox(
        self, *, force: bool = False, now: dt.datetime | None = None, reminders: bool = True
    ) -> FlushReport:
        """Queue the due reminders of unacknowledged alerts, then send the due deliveries.

        ``force``: also those still waiting out their backoff; ``now``: the time (default: now, UTC);
        ``reminders``: False sends what is queued without queueing reminders (see :meth:`queue_reminders`).
        """
        from geowarn.pipeline.deliver import flush_site_outbox

        return flush_site_outbox(self._dir, force=force, now=now, reminders=reminders)

    def queue_reminders(self, *, now: dt.datetime | None = None) -> list[int]:
        """Queue the reminders of unacknowledged orange/red alerts due at ``now``; returns the new delivery ids."""
        from geowarn.pipeline.deliver import queue_site_reminders

        return queue_site_reminders(self._dir, now)

    # --- dashboard users

    def add_user(
        self, username: str, role: str = "viewer", password: str | None = None, *, sites: list[str] | None = None
    ) -> UserAdded:
        """Create a dashboard user (roles: viewer, geologist who may acknowledge, admin).

        Without ``password`` one is generated and returned once in ``generated_password``;
        ``sites``: the only site ids the user may see (default: every site).

        Raises:
            ConfigError: a bad name, role or site id, a password under 10 characters, or the name is taken.

        """
        from geowarn.store.users import add_user

        return add_user(self._dir.store, username, role, password, sites)

    def users(self) -> list[UserInfo]:
        """The dashboard users, by name."""
        from geowarn.store.users import list_users

        return list_users(self._dir.store)

    def remove_user(self, username: str) -> str:
        """Delete a dashboard user and sign out its sessions; returns a message.

        Raises:
            ConfigError: no such user.

        """
        from geowarn.store.users import remove_user

        return remove_user(self._dir.store, username)
