"""Where two surveys both saw the ground (``geowarn.tracking.coverage``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import LineString

from geowarn.tracking.coverage import Coverage, imaged_area, inside


def _survey(path: Path, x0: float, valid_cols: int = 100) -> Path:
    data = np.full((3, 100, 100), 120, np.uint8)
    data[:, :, valid_cols:] = 0
    profile = {
        "driver": "GTiff",
        "width": 100,
        "height": 100,
        "count": 3,
        "dtype": "uint8",
        "crs": "EPSG:32633",
        "transform": Affine(0.02, 0, x0, 0, -0.02, 5100000.0),
        "nodata": 0,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def test_imaged_area_follows_the_valid_pixels_and_the_frame(tmp_path: Path) -> None:
    full = imaged_area(_survey(tmp_path / "a.tif", 500000.0), (0.0, 0.0))
    assert full is not None and full.area == pytest.approx(4.0)
    half = imaged_area(_survey(tmp_path / "b.tif", 500000.0, valid_cols=50), (0.5, 0.0))
    assert half is not None
    assert half.bounds[0] == pytest.approx(500000.5, abs=0.03) and half.bounds[2] <= 500001.5 + 1e-9
    assert imaged_area(tmp_path / "missing.tif", (0.0, 0.0)) is None


def test_change_counts_only_where_both_surveys_saw_the_ground(tmp_path: Path) -> None:
    earlier = _survey(tmp_path / "earlier.tif", 500000.0)
    current = _survey(tmp_path / "current.tif", 500000.6)  # 0.6 m further east
    coverage = Coverage(current, (0.0, 0.0), margin_m=0.1)
    common = coverage.common(earlier, (0.0, 0.0))
    assert common is not None
    assert common.bounds[0] == pytest.approx(500000.7) and common.bounds[2] == pytest.approx(500001.9)
    crack = LineString([(500001.5, 5099999.0), (500002.5, 5099999.0)])  # runs off the earlier survey's edge
    assert inside(crack, common).length == pytest.approx(0.4)
    assert inside(crack, None).length == pytest.approx(1.0)
    assert coverage.common(earlier, (0.0, 0.0)) is common  # read once per earlier survey
