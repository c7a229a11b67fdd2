"""The monitoring demo: a synthetic site surveyed four times whose main crack grows and accelerates.

No data or server needed. Each survey is the same synthetic slope (same terrain seed) with a GNSS
offset of up to 0.4 m, a different illumination and the main tension crack a little longer; two
other cracks stay as they are. ``geowarn monitor`` registers, tracks and assesses every survey and
delivers the alerts to the embedded file channel (``<home>/outbox``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import rasterio

from geowarn.harness.synthetic.cracks import CrackSpec, crack_length_px
from geowarn.harness.synthetic.networks import meandering_crack, random_crack_network
from geowarn.harness.synthetic.orthomosaic import make_orthomosaic
from geowarn.pipeline.monitor import Processor, monitor
from geowarn.pipeline.report import MonitorReport
from geowarn.workspace import open_workspace
from geowarn.workspace.sites import add_site, add_survey

SIZE_PX = 1024
GSD_M = 0.02
SITE = "demo-slope"
FIRST_DATE = date(2026, 5, 1)
INTERVAL_DAYS = 7
#: Extension of the main crack since the first survey (m): ~36, ~43 then ~114 mm/day.
EXTENSION_M = (0.0, 0.25, 0.55, 1.35)
#: Share of the main crack's final length visible in the first survey.
FIRST_FRACTION = 0.6


@dataclass(frozen=True)
class DemoSurvey:
    """One synthetic survey and its truth."""

    path: Path
    acquired_on: date
    main_length_m: float
    gnss_offset_m: tuple[float, float]


def prefix(spec: CrackSpec, length_px: float) -> CrackSpec:
    """The first ``length_px`` of a crack's centreline."""
    pts = np.asarray(spec.points, dtype=np.float64)
    seg = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if length_px >= cum[-1]:
        return spec
    i = int(np.searchsorted(cum, length_px, side="right")) - 1
    t = (length_px - cum[i]) / seg[i]
    end = pts[i] + t * (pts[i + 1] - pts[i])
    kept = [*map(tuple, pts[: i + 1].round(3)), (round(float(end[0]), 3), round(float(end[1]), 3))]
    return CrackSpec(points=tuple((float(x), float(y)) for x, y in kept), width_px=spec.width_px, depth=spec.depth)


def _network(seed: int) -> tuple[CrackSpec, list[CrackSpec]]:
    rng = np.random.default_rng([seed, 0xA1E7])
    bbox = (40.0, 40.0, SIZE_PX - 40.0, SIZE_PX - 40.0)
    main = meandering_crack(
        rng, (0.12 * SIZE_PX, 0.45 * SIZE_PX), 0.05, 0.85 * SIZE_PX, 9.0, bbox, two_sided=False, terrain_seed=seed
    )
    others = random_crack_network(
        rng, (40.0, 0.7 * SIZE_PX, SIZE_PX - 40.0, SIZE_PX - 40.0), 2, (5.0, 8.0), (250.0, 400.0), terrain_seed=seed
    )
    return main, others


def _illuminate(path: Path, gain: float, gamma: float) -> None:
    with rasterio.open(path, "r+") as ds:
        data = ds.read(indexes=[1, 2, 3]).astype(np.float32) / 255.0
        ds.write((np.clip(gain * data**gamma, 0, 1) * 255.0 + 0.5).astype(np.uint8), indexes=[1, 2, 3])


def make_demo_surveys(out: Path, seed: int = 2026) -> list[DemoSurvey]:
    """Write the four survey GeoTIFFs into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    main, others = _network(seed)
    full = crack_length_px(main)
    rng = np.random.default_rng([seed, 0x5EED])
    surveys = []
    for k, extension in enumerate(EXTENSION_M):
        length_px = min(full, FIRST_FRACTION * full + extension / GSD_M)
        angle, radius = rng.uniform(0, 2 * math.pi), rng.uniform(0.1, 0.4)
        offset = (radius * math.cos(angle), radius * math.sin(angle))
        path = out / f"survey_{k + 1:02d}.tif"
        make_orthomosaic(
            path,
            SIZE_PX,
            SIZE_PX,
            gsd_m=GSD_M,
            origin=(500000.0 + offset[0], 5200000.0 + offset[1]),
            seed=seed,
            cracks=[prefix(main, length_px), *others],
        )
        _illuminate(path, float(rng.uniform(0.92, 1.08)), float(rng.uniform(0.92, 1.08)))
        surveys.append(DemoSurvey(path, FIRST_DATE + timedelta(days=INTERVAL_DAYS * k), length_px * GSD_M, offset))
    return surveys


#: Where ``geowarn dashboard`` serves by default: the demo's alerts link there.
DASHBOARD_URL = "http://127.0.0.1:8000"


def run_monitor_demo(out: Path, seed: int = 2026) -> str:
    """Build the surveys, a fresh workspace in ``out/workspace``, run ``monitor``; return a summary."""
    surveys = make_demo_surveys(out / "surveys", seed)
    home = out / "workspace"
    if (home / "geowarn.db").exists():
        (home / "geowarn.db").unlink()
    ws = open_workspace(home)
    config = home / "demo-site.yaml"  # alerts link to the dashboard (geowarn dashboard --home <home>)
    config.write_text(f"dashboard_url: {DASHBOARD_URL}\n")
    try:
        add_site(ws, SITE, "Demo slope (synthetic)", config)
        for s in surveys:
            add_survey(ws, SITE, s.path, s.acquired_on)
        report: MonitorReport = monitor(ws, SITE, processor=Processor(ws), today=surveys[-1].acquired_on)
    finally:
        ws.close()
    truth = ", ".join(
        f"{b.acquired_on}: +{(b.main_length_m - a.main_length_m) * 1000 / INTERVAL_DAYS:.0f} mm/day"
        for a, b in itertools.pairwise(surveys)
    )
    files = sorted(p.name for p in (home / "outbox").glob("*.eml")) if (home / "outbox").exists() else []
    return "\n".join(
        [
            f"geowarn monitoring demo: site {SITE}, {len(surveys)} synthetic surveys {INTERVAL_DAYS} days apart "
            f"({SIZE_PX} x {SIZE_PX} px at {GSD_M * 100:.0f} cm, GNSS offsets up to 0.4 m)",
            f"  true extension of the main crack: {truth}",
            str(report),
            f"  workspace {home} (inspect: geowarn site show {SITE} --home {home}; geowarn alerts list --home {home})",
            f"  delivered alert files in {home / 'outbox'}: {', '.join(files) or 'none'}",
        ]
    )
