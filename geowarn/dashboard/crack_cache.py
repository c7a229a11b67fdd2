"""A survey's crack table, read once and kept while the site's processed surveys stay the same.

The site page lists a survey's cracks and its map asks for the same cracks as GeoJSON right after:
without a cache both requests read and decode every crack, its growth and its geometry again. A
processed survey's cracks never change; what can change is their ``last_seen`` date and which
survey is the latest, once another survey is processed. So an entry is keyed by the site's set of
processed (and flagged) surveys and is read again as soon as that set changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd

    from geowarn.api import Workspace

#: Crack tables kept (one per site and survey).
CACHED_SURVEYS = 16


class CrackCache:
    """``Workspace.cracks`` of a site's survey, cached; callers get their own copy of the table."""

    def __init__(self, ws: Workspace, size: int = CACHED_SURVEYS) -> None:
        self.ws, self.size = ws, size
        self._tables: OrderedDict[tuple[str, int, tuple[tuple[int, str], ...]], gpd.GeoDataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def cracks(self, site: str, survey: int) -> gpd.GeoDataFrame:
        """The cracks of ``site``'s survey ``survey`` (see ``Workspace.cracks``)."""
        done = tuple((s.id, s.status) for s in self.ws.surveys(site) if s.status in ("processed", "flagged"))
        key = (site, survey, done)
        with self._lock:
            table = self._tables.get(key)
            if table is not None:
                self._tables.move_to_end(key)
                return table.copy()
        table = self.ws.cracks(site, survey)
        with self._lock:
            self._tables[key] = table
            while len(self._tables) > self.size:
                self._tables.popitem(last=False)
        return table.copy()
