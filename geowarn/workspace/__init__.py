"""The monitoring workspace: a folder with the database, detection outputs and the file outbox.

``--home`` (or ``$GEOWARN_HOME``, default ``./geowarn-data``) holds ``geowarn.db`` (unless
``--db``/``$GEOWARN_DB`` names another database), ``runs/<site>/<survey>/`` with each survey's
detection outputs, and ``outbox/`` where the embedded default channel writes alerts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from geowarn.alerts.settings import DEFAULT_CHANNEL, Recipient
from geowarn.errors import ConfigError
from geowarn.store.db import Store, default_url, open_store
from geowarn.store.schema import Site, Survey
from geowarn.workspace.site_config import SiteConfig, load_site_config

HOME_ENV = "GEOWARN_HOME"
DEFAULT_HOME = Path("geowarn-data")


@dataclass
class WorkspaceDir:
    """An open workspace."""

    home: Path
    store: Store

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    def run_dir(self, site: Site, survey: Survey) -> Path:
        return self.home / "runs" / site.slug / f"survey-{survey.id:05d}-{survey.sha256[:8]}"

    def site_config(self, site: Site) -> SiteConfig:
        """The site's validated YAML config plus the default file channel (and recipient if none)."""
        config = load_site_config(Path(site.config_path) if site.config_path else None)
        channels = dict(config.channels)
        channels.setdefault(DEFAULT_CHANNEL, {"type": "file", "directory": str(self.outbox_dir)})
        recipients = config.recipients or [Recipient(name="outbox", channel=DEFAULT_CHANNEL, address="outbox")]
        return config.model_copy(update={"channels": channels, "recipients": recipients})

    def close(self) -> None:
        self.store.close()


def resolve_home(home: Path | None) -> Path:
    """``home`` if given, else ``$GEOWARN_HOME``, else ``./geowarn-data``."""
    return (home or Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)).resolve()


def open_workspace(home: Path | None = None, db_url: str | None = None) -> WorkspaceDir:
    """Open (creating if needed) the workspace and its database, migrated to the newest schema."""
    root = resolve_home(home)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create workspace folder {root}: {exc.strerror}; choose another --home") from exc
    return WorkspaceDir(root, open_store(db_url or default_url(root)))
