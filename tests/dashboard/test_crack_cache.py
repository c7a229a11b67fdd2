"""The dashboard's crack tables are read once per site state (``geowarn.dashboard.crack_cache``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
from shapely.geometry import Point

from geowarn.dashboard.crack_cache import CrackCache


@dataclass
class _Survey:
    id: int
    status: str


@dataclass
class _Workspace:
    surveys_now: list[_Survey]
    reads: list[tuple[str, int]] = field(default_factory=list)

    def surveys(self, site: str) -> list[_Survey]:
        return self.surveys_now

    def cracks(self, site: str, survey: int) -> gpd.GeoDataFrame:
        self.reads.append((site, survey))
        return gpd.GeoDataFrame({"crack_id": [1, 2]}, geometry=[Point(0, 0), Point(1, 1)])


def test_a_survey_is_read_once_until_another_survey_is_processed() -> None:
    ws = _Workspace([_Survey(1, "processed"), _Survey(2, "pending")])
    cache = CrackCache(ws, size=2)  # type: ignore[arg-type]
    first = cache.cracks("slope", 1)
    first.loc[0, "crack_id"] = 99  # a caller's copy: the cached table is untouched
    assert list(cache.cracks("slope", 1)["crack_id"]) == [1, 2]
    assert ws.reads == [("slope", 1)]
    ws.surveys_now[1].status = "processed"  # last_seen dates and the latest survey may have changed
    cache.cracks("slope", 1)
    assert ws.reads == [("slope", 1), ("slope", 1)]


def test_least_recently_used_tables_go_first() -> None:
    ws = _Workspace([_Survey(1, "processed"), _Survey(2, "processed"), _Survey(3, "processed")])
    cache = CrackCache(ws, size=2)  # type: ignore[arg-type]
    for survey in (1, 2, 1, 3, 1, 2):
        cache.cracks("slope", survey)
    reads: Any = ws.reads
    assert reads == [("slope", 1), ("slope", 2), ("slope", 3), ("slope", 2)]
