"""Survey programmes: the ``pipelines/*.yaml`` files that tell ``geowarn serve`` what to watch and how often.

Each file holds a ``sites:`` list (where each site's surveys arrive, how the acquisition date is read,
how often a survey is expected, its detect settings and its site YAML with rules, recipients and
channels) and optionally a ``service:`` section (database, outbox flush interval, reminder schedule);
at most one file of a folder may hold ``service:``. Unknown keys are rejected; every problem names
the file, the key, the value and the fix (``geowarn.settings``). Relative paths are relative to the
file that names them.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from geowarn import inputs
from geowarn.errors import ConfigError
from geowarn.settings import Settings, read_mapping, validate

#: Where every programme key is documented.
PROGRAMME_DOCS = "pipelines/README.md"
#: An OpenDroneMap project's orthophoto, relative to the project folder.
ODM_ORTHOPHOTO = Path("odm_orthophoto") / "odm_orthophoto.tif"
#: Files a drop folder offers by default.
DEFAULT_PATTERNS = ("*.tif", "*.tiff", "*.TIF", "*.TIFF")
#: The date groups a ``date_pattern`` must capture.
DATE_GROUPS = ("year", "month", "day")


class SiteProgramme(Settings):
    """One site of a programme: where its surveys arrive and how they are turned into warnings."""

    site: str
    name: str | None = None
    #: The site YAML (rules, recipients, channels; ``config/site.example.yaml``); None: the defaults.
    config: Path | None = None
    drop_folder: Path
    #: ``files``: orthomosaics lie in the folder; ``odm``: each subfolder is an OpenDroneMap project.
    layout: Literal["files", "odm"] = "files"
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    #: A regular expression with groups ``year``, ``month``, ``day`` searched in the file (or project)
    #: name; None: the date comes from the raster's metadata.
    date_pattern: str | None = None
    #: A survey is expected at least this often; older than that, the site turns "no data" and notifies.
    expected_every_days: float | None = Field(None, gt=0)
    #: A file is read only once its size and modification time have not changed for this long.
    settle_seconds: float = Field(60.0, ge=0)
    scan_every_seconds: float = Field(60.0, gt=0)
    #: Detect settings for monitoring (keys of ``config/detect.yaml``), or a YAML file of them.
    detect: dict[str, Any] | Path | None = None
    max_pixels: float | None = Field(None, gt=0)

    @field_validator("site")
    @classmethod
    def _slug(cls, value: str) -> str:
        return inputs.slug(value)

    @field_validator("date_pattern")
    @classmethod
    def _date_pattern(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            groups = re.compile(value).groupindex
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        missing = [g for g in DATE_GROUPS if g not in groups]
        if missing:
            raise ValueError(
                "needs the named groups (?P<year>...), (?P<month>...) and (?P<day>...); missing " + ", ".join(missing)
            )
        return value

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("give at least one file pattern, e.g. ['*.tif']")
        for pattern in value:
            if "/" in pattern or pattern.startswith("."):
                raise ValueError(f"{pattern!r} must match names in the folder itself, not paths or hidden files")
        return value

    def fingerprint(self) -> str:
        """A hash of these settings: a file refused under other settings is tried again."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class ReminderSchedule(Settings):
    """When unacknowledged orange/red alerts are checked for due reminders."""

    every_minutes: float = Field(15.0, gt=0)


class ServiceSettings(Settings):
    """The service-wide section ``service:``."""

    #: Database URL (``postgresql+psycopg://...``); ``--db`` and ``$GEOWARN_DB`` take precedence.
    database: str | None = None
    #: The workspace folder (detection outputs, evidence maps, the file outbox); ``--home`` takes precedence.
    home: Path | None = None
    outbox_flush_seconds: float = Field(60.0, gt=0)
    reminders: ReminderSchedule = ReminderSchedule()
    #: How often each site's overdue check runs.
    overdue_check_minutes: float = Field(60.0, gt=0)
    #: A run that could not start on time (downtime) still runs once if at most this late; older ones coalesce.
    misfire_grace_seconds: float = Field(3600.0, gt=0)
    #: Jobs that may run at once (different sites ingest side by side).
    workers: int = Field(4, ge=1, le=64)


class ProgrammeFile(Settings):
    """One ``pipelines/*.yaml`` file."""

    service: ServiceSettings | None = None
    sites: list[SiteProgramme] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct_sites(self) -> ProgrammeFile:
        seen: set[str] = set()
        for entry in self.sites:
            if entry.site in seen:
                raise ValueError(f"site {entry.site!r} is listed twice; keep one entry per site")
            seen.add(entry.site)
        return self


class Programmes(Settings):
    """Every programme of a folder, relative paths resolved."""

    folder: Path
    service: ServiceSettings = ServiceSettings()
    sites: dict[str, SiteProgramme] = Field(default_factory=dict)
    origins: dict[str, str] = Field(default_factory=dict)  # site -> file


def _resolved(entry: SiteProgramme, base: Path) -> SiteProgramme:
    def absolute(path: Path | None) -> Path | None:
        return None if path is None else (base / path.expanduser()).resolve()

    update: dict[str, Any] = {"drop_folder": absolute(entry.drop_folder), "config": absolute(entry.config)}
    if isinstance(entry.detect, Path):
        update["detect"] = absolute(entry.detect)
    return entry.model_copy(update=update)


def _check_paths(entry: SiteProgramme, origin: str, index: int) -> None:
    key = f"sites.{index}"
    if entry.config is not None and not entry.config.is_file():
        raise ConfigError(
            f"{origin}: key '{key}.config': value {entry.config}: no such file; give the site YAML's path"
        )
    if isinstance(entry.detect, Path) and not entry.detect.is_file():
        raise ConfigError(f"{origin}: key '{key}.detect': value {entry.detect}: no such file; give a detect YAML")
    if entry.config is not None:
        from geowarn.workspace.site_config import load_site_config

        load_site_config(entry.config)
    if entry.detect is not None:
        from geowarn.pipeline.detect_config import MONITOR_DETECT_DEFAULTS, load_detect_config

        if isinstance(entry.detect, Path):
            load_detect_config(entry.detect, None, MONITOR_DETECT_DEFAULTS)
        else:
            load_detect_config(None, entry.detect, MONITOR_DETECT_DEFAULTS, overrides_from=f"{origin}: {key}.detect")


def programme_files(folder: Path) -> list[Path]:
    """The programme files of ``folder`` (``*.yaml``, ``*.yml``), by name."""
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_programmes(folder: Path) -> Programmes:
    """Read and check every programme of ``folder``.

    Raises:
        ConfigError: no such folder, no site in it, or a file, key or value that is wrong (file, key,
            value and fix named).

    """
    folder = folder.expanduser().resolve()
    if not folder.is_dir():
        raise ConfigError(f"--pipelines {folder}: no such folder; give the folder of programme YAML files")
    service: ServiceSettings | None = None
    service_origin = ""
    sites: dict[str, SiteProgramme] = {}
    origins: dict[str, str] = {}
    for path in programme_files(folder):
        parsed = validate(ProgrammeFile, read_mapping(path), str(path), docs=PROGRAMME_DOCS)
        if parsed.service is not None:
            if service is not None:
                raise ConfigError(
                    f"{path}: key 'service': a second service section (the first is in {service_origin}); "
                    "keep one service section per folder"
                )
            home = parsed.service.home
            service = parsed.service.model_copy(
                update={"home": None if home is None else (path.parent / home.expanduser()).resolve()}
            )
            service_origin = str(path)
        for index, raw_entry in enumerate(parsed.sites):
            if raw_entry.site in sites:
                raise ConfigError(
                    f"{path}: key 'sites.{index}.site': value {raw_entry.site!r}: already a site of "
                    f"{origins[raw_entry.site]}; give each site one programme"
                )
            entry = _resolved(raw_entry, path.parent)
            _check_paths(entry, str(path), index)
            sites[entry.site], origins[entry.site] = entry, str(path)
    if not sites:
        raise ConfigError(
            f"{folder}: no programme lists a site; add a YAML file with a 'sites:' list (see {PROGRAMME_DOCS})"
        )
    return Programmes(folder=folder, service=service or ServiceSettings(), sites=sites, origins=origins)
