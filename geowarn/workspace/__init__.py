"""The monitoring workspace: a folder with the database, detection outputs and the file outbox.

``--home`` (or ``$GEOWARN_HOME``, default ``./geowarn-data``) holds ``geowarn.db`` (unless
``--db``/``$GEOWARN_DB`` names another database), ``runs/<site>/<survey>/`` with each survey's
detection outputs, and ``outbox/`` where the embedded default channel writes alerts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from geowarn.assess.settings import Recipient, SiteConfig, load_site_config
from geowarn.errors import ConfigError
from geowarn.store.db import Store, default_url, open_store
from geowarn.store.schema import Site, Survey

HOME_ENV = "GEOWARN_HOME"
DEFAULT_HOME = Path("geowarn-data")
#: Channel every site has: alert files under ``<home>/outbox`` (no server needed).
DEFAULT_CHANNEL = "outbox-files"
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass
class Workspace:
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


def open_workspace(home: Path | None = None, db_url: str | None = None) -> Workspace:
    """Open (creating if needed) the workspace and its database, migrated to the newest schema."""
    root = resolve_home(home)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create workspace folder {root}: {exc.strerror}; choose another --home") from exc
    return Workspace(root, open_store(db_url or default_url(root)))


def get_site(session: Session, slug: str) -> Site:
    """The site called ``slug``.

    Raises:
        ConfigError: no such site (the message lists the known ones).

    """
    site = session.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        known = ", ".join(session.scalars(select(Site.slug).order_by(Site.slug))) or "none yet"
        raise ConfigError(f"site {slug!r} does not exist (known: {known}); create it with: geowarn site add {slug}")
    return site
