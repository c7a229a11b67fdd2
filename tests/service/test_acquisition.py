from datetime import date
from pathlib import Path

import numpy as np
import pytest

from geowarn.errors import ConfigError
from geowarn.service.acquisition import acquisition_date, date_from_name, date_from_tags
from tests.conftest import write_geotiff

PATTERN = r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"


def test_the_date_comes_from_the_name_when_the_programme_sets_a_pattern() -> None:
    assert date_from_name("flight-2026-05-01.tif", PATTERN) == date(2026, 5, 1)
    with pytest.raises(ConfigError, match="no date in the name"):
        date_from_name("flight.tif", PATTERN)
    with pytest.raises(ConfigError, match="not a date"):
        date_from_name("flight-2026-13-01.tif", PATTERN)


def test_the_date_comes_from_the_raster_tags() -> None:
    assert date_from_tags({"TIFFTAG_DATETIME": "2026:05:01 10:11:12"}) == date(2026, 5, 1)
    assert date_from_tags({"ACQUISITION_DATE": "2026-05-02T10:00:00Z"}) == date(2026, 5, 2)
    assert date_from_tags({"TIFFTAG_DATETIME": "garbage"}) is None


def test_never_the_time_the_file_landed(tmp_path: Path) -> None:
    data = np.zeros((3, 16, 16), np.uint8)
    tagged = write_geotiff(tmp_path / "a.tif", data)
    import rasterio

    with rasterio.open(tagged, "r+") as dst:
        dst.update_tags(TIFFTAG_DATETIME="2026:04:30 09:00:00")
    assert acquisition_date(tagged, tagged.name, None) == date(2026, 4, 30)
    untagged = write_geotiff(tmp_path / "b.tif", data)
    with pytest.raises(ConfigError, match=r"no acquisition date in the raster's metadata.*date_pattern"):
        acquisition_date(untagged, untagged.name, None)
