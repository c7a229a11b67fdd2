"""The acquisition date of a survey: from a date pattern in its name, else from the raster's metadata.

Never from the time the file landed: a survey whose date cannot be read is refused with the reason.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from geowarn.errors import ConfigError

#: Raster tags that may hold the acquisition time, in the order they are trusted.
DATE_TAGS = ("ACQUISITION_DATE", "ACQUISITIONDATETIME", "DATE_ACQUIRED", "TIFFTAG_DATETIME")
_DATE_TEXT = re.compile(r"(\d{4})[-:/]?(\d{2})[-:/]?(\d{2})")


def date_from_name(name: str, pattern: str) -> date:
    """The date captured by ``pattern`` (groups ``year``, ``month``, ``day``) in ``name``.

    Raises:
        ConfigError: the pattern does not match, or matches no valid date.

    """
    match = re.search(pattern, name)
    if match is None:
        raise ConfigError(
            f"{name}: no date in the name matching date_pattern {pattern!r}; rename the file or fix date_pattern"
        )
    year, month, day = (match.group(g) for g in ("year", "month", "day"))
    try:
        return date(int(year), int(month), int(day))
    except ValueError as exc:
        raise ConfigError(f"{name}: {year}-{month}-{day} is not a date ({exc}); rename the file") from None


def date_from_tags(tags: dict[str, str]) -> date | None:
    """The first date found in the acquisition-time tags (``YYYY:MM:DD HH:MM:SS``, ISO 8601...); None when none."""
    for tag in DATE_TAGS:
        text = tags.get(tag, "").strip()
        match = _DATE_TEXT.match(text)
        if match:
            try:
                return date(*(int(g) for g in match.groups()))
            except ValueError:
                continue
    return None


def date_from_raster(path: Path) -> date:
    """The acquisition date in the raster's metadata.

    Raises:
        ConfigError: the raster carries none.

    """
    import rasterio

    with rasterio.open(path) as src:
        tags = {k.upper(): v for k, v in src.tags().items()}
    found = date_from_tags(tags)
    if found is None:
        raise ConfigError(
            f"{path}: no acquisition date in the raster's metadata (tags {', '.join(DATE_TAGS)}); set "
            "date_pattern in the site's programme to read it from the file name, or tag the file "
            "(gdal_edit.py -mo TIFFTAG_DATETIME='2026:05:01 10:00:00')"
        )
    return found


def acquisition_date(path: Path, name: str, pattern: str | None) -> date:
    """The survey's date: from ``name`` when the programme sets ``date_pattern``, else from the raster."""
    return date_from_name(name, pattern) if pattern else date_from_raster(path)
