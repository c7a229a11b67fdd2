"""Run ``monitor`` over a suite of multi-survey scenarios with known truth and score it.

For each scenario (built by ``geowarn scenario build`` from real crack imagery), a fresh
workspace gets one site and its surveys, ``monitor`` runs once, and the outcome is compared with
the truth: registration error against the known GNSS offsets, flagging of unregistrable surveys,
the growth measured for each truly growing crack, and the highest alert level reached against the
level the site's rules give on the true growth (same persistence logic, true rates, no noise).
"""

from __future__ import annotations

import math
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import rasterio
import shapely
from affine import Affine
from numpy.typing import NDArray
from rasterio.transform import rowcol
from shapely import wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select

from geowarn.assess.levels import Previous, TrackSignal, evaluate
from geowarn.assess.settings import LEVEL_ORDER, AssessmentSettings
from geowarn.harness.scenario.schema import Scenario, SurveyRecord, TruthCrack, load_scenario, load_suite
from geowarn.pipeline.monitor import Processor, monitor
from geowarn.store.queries import get_site
from geowarn.store.schema import Alert, Assessment, Crack, Growth, Survey
from geowarn.workspace import WorkspaceDir, open_workspace
from geowarn.workspace.sites import add_site, add_survey

LEVELS = ("green", "yellow", "orange", "red")


def expected_level(scenario: Scenario, settings: AssessmentSettings) -> str:
    """Highest level the site's assessment settings give on the true growth of the scenario's cracks."""
    history: list[Previous] = []
    current, highest = "green", "green"
    pairs: dict[Any, list[TrackSignal]] = {}
    for g in scenario.growth:
        if g.change == "new":
            continue
        rate = g.extension_rate_mm_day if g.change == "growth" else None
        pairs.setdefault(g.to_date, []).append(TrackSignal(g.truth_id, rate, 0.0, None, 0.0))
    for day in sorted(pairs):
        d = evaluate(settings, day, pairs[day], {}, history, current)
        history.insert(0, Previous(d.level, d.candidate, d.track_levels, d.zone_levels))
        current = d.level
        highest = max(highest, d.level, key=LEVEL_ORDER.__getitem__)
    return highest


@dataclass
class ScenarioOutcome:
    """Scored result of one scenario."""

    name: str
    kind: str
    growth_class: str
    expected_level: str
    reached_level: str
    levels: list[str]
    registration_errors_px: list[float] = field(default_factory=list)
    unregistrable_flagged: list[bool] = field(default_factory=list)
    growth_errors: list[dict[str, float]] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    alerts: int = 0  # alerts of yellow or above issued (each queued for its recipients); "no data" ones not counted

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


#: A detected crack belongs to a true crack when this share of its centreline lies within
#: ``ALONG_TRUTH_PX`` of that crack's true pixels.
ALONG_TRUTH_SHARE = 0.5
ALONG_TRUTH_PX = 3


@dataclass(frozen=True)
class TruthNear:
    """Pixels near one true crack, and how site-frame points map onto them."""

    near: NDArray[np.bool_]
    transform: Affine
    site_to_survey: tuple[float, float]

    def share_along(self, centreline: BaseGeometry, spacing_m: float) -> float:
        """Share of a site-frame centreline's points that fall on these pixels."""
        lines = getattr(centreline, "geoms", [centreline])
        points = np.concatenate(
            [
                shapely.get_coordinates(
                    shapely.line_interpolate_point(line, np.arange(0.0, line.length + spacing_m / 2, spacing_m))
                )
                for line in lines
            ]
            or [np.empty((0, 2))]
        )
        if not len(points):
            return 0.0
        xs, ys = points[:, 0] + self.site_to_survey[0], points[:, 1] + self.site_to_survey[1]
        r, c = (np.asarray(v) for v in rowcol(self.transform, xs, ys))
        h, w = self.near.shape
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        return float(self.near[r[inside], c[inside]].sum()) / len(points)


def _near_truth(folder: Path, scenario: Scenario, survey: SurveyRecord, crack: TruthCrack) -> TruthNear:
    """Crack pixels of ``survey``'s truth mask inside the true crack's bounding box, widened by ``ALONG_TRUTH_PX``.

    The mask does not tell cracks apart, so another crack crossing that box counts as this one.
    """
    with rasterio.open(folder / survey.truth_mask) as src:
        mask = src.read(1) > 0
        transform = src.transform
    inverse = ~transform
    sx, sy = survey.gnss_offset_m
    x0, y0, x1, y1 = crack.bbox
    c0, r0 = inverse * (x0 + sx, y1 + sy)
    c1, r1 = inverse * (x1 + sx, y0 + sy)
    pad = ALONG_TRUTH_PX + 1
    box = np.zeros_like(mask)
    box[max(0, int(r0) - pad) : int(r1) + pad + 1, max(0, int(c0) - pad) : int(c1) + pad + 1] = True
    side = 2 * ALONG_TRUTH_PX + 1
    near = cv2.dilate((mask & box).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    first = scenario.surveys[0].gnss_offset_m
    return TruthNear(near.astype(bool), transform, (sx - first[0], sy - first[1]))


def _score_growth(ws: WorkspaceDir, folder: Path, scenario: Scenario, out: ScenarioOutcome) -> None:
    """Measured extension of each truly growing crack: the sum over the tracks lying along it.

    A crack detected in pieces is several tracks; its growth is whatever the pieces along it
    extended. A piece belongs to the true crack when ``ALONG_TRUTH_SHARE`` of its centreline lies
    within ``ALONG_TRUTH_PX`` of the crack's true pixels in that survey. "Not tracked" (found 0)
    means no piece along it has a growth record in that survey pair.
    """
    by_date = {s.date: s for s in scenario.surveys}
    with ws.store.transaction() as session:
        surveys = {s.acquired_on: s for s in session.scalars(select(Survey))}
        for g in scenario.growth:
            if g.change != "growth" or g.to_date not in surveys:
                continue
            truth_survey = by_date[g.to_date]
            truth_crack = next(c for c in truth_survey.cracks if c.truth_id == g.truth_id)
            near = _near_truth(folder, scenario, truth_survey, truth_crack)
            survey_id = surveys[g.to_date].id
            along = [
                c.track_id
                for c in session.scalars(select(Crack).where(Crack.survey_id == survey_id))
                if near.share_along(wkb.loads(c.centerline_wkb), scenario.gsd_m) >= ALONG_TRUTH_SHARE
            ]
            rows = session.scalars(
                select(Growth).where(Growth.survey_id == survey_id, Growth.track_id.in_(along))
            ).all()
            if not rows:
                out.growth_errors.append({"truth_id": g.truth_id, "truth_m": g.delta_length_m, "found": 0.0})
                continue
            measured = sum(r.metrics["extension"]["delta_m"] for r in rows)
            unc = math.sqrt(sum(r.metrics["extension"]["unc_m"] ** 2 for r in rows))
            out.growth_errors.append(
                {
                    "truth_id": g.truth_id,
                    "truth_m": g.delta_length_m,
                    "measured_m": measured,
                    "unc_m": unc,
                    "error_m": measured - g.delta_length_m,
                    "within_tolerance": float(
                        abs(measured - g.delta_length_m) <= max(0.05 * abs(g.delta_length_m), 2 * scenario.gsd_m)
                    ),
                    "found": 1.0,
                    "tracks": float(len(rows)),
                }
            )


def run_scenario(folder: Path, work: Path, processor_factory: Any = None) -> ScenarioOutcome:
    """Monitor one scenario in a fresh workspace under ``work`` and score it."""
    scenario = load_scenario(folder)
    home = work / scenario.name
    shutil.rmtree(home, ignore_errors=True)
    ws = open_workspace(home)
    try:
        add_site(ws, "scenario", scenario.name)
        for s in scenario.surveys:
            add_survey(ws, "scenario", folder / s.file, s.date)
        processor = processor_factory(ws) if processor_factory else Processor(ws)
        monitor(ws, "scenario", processor=processor, today=scenario.surveys[-1].date)
        with ws.store.transaction() as session:
            settings = ws.site_config(get_site(session, "scenario")).rules.assessment
        with ws.store.transaction() as session:
            levels = [a.level for a in session.scalars(select(Assessment).order_by(Assessment.id))]
            rows = session.scalars(select(Survey).order_by(Survey.acquired_on)).all()
            alerts = len(session.scalars(select(Alert.id).where(Alert.level.in_(LEVELS[1:]))).all())
        out = ScenarioOutcome(
            scenario.name,
            scenario.kind,
            scenario.growth_class,
            expected_level(scenario, settings),
            max((lvl for lvl in levels if lvl in LEVEL_ORDER), key=LEVEL_ORDER.__getitem__, default="green"),
            levels,
            statuses=[r.status for r in rows],
            alerts=alerts,
        )
        gsd = scenario.gsd_m
        offsets = {row.id: truth.gnss_offset_m for truth, row in zip(scenario.surveys, rows, strict=True)}
        for truth, row in zip(scenario.surveys, rows, strict=True):
            if not truth.registrable:
                out.unregistrable_flagged.append(row.status == "flagged")
            elif row.reg_ok and row.reference_survey_id in offsets:
                # against the survey it was registered to: the last processed one, which is not the
                # previous survey when that one was flagged
                (rx, ry), (ox, oy) = offsets[row.reference_survey_id], truth.gnss_offset_m
                assert row.reg_dx_m is not None and row.reg_dy_m is not None
                out.registration_errors_px.append(math.hypot(row.reg_dx_m - (rx - ox), row.reg_dy_m - (ry - oy)) / gsd)
        _score_growth(ws, folder, scenario, out)
        return out
    finally:
        ws.close()


def summarise(outcomes: list[ScenarioOutcome]) -> dict[str, Any]:
    """Alert precision/recall (alert = yellow or above), level agreement, registration and growth errors."""
    alerted = [LEVEL_ORDER[o.reached_level] >= 1 for o in outcomes]
    should = [LEVEL_ORDER[o.expected_level] >= 1 for o in outcomes]
    tp = sum(a and s for a, s in zip(alerted, should, strict=True))
    fp = sum(a and not s for a, s in zip(alerted, should, strict=True))
    fn = sum(s and not a for a, s in zip(alerted, should, strict=True))
    reg = [e for o in outcomes for e in o.registration_errors_px]
    growth = [g for o in outcomes for g in o.growth_errors if g.get("found")]
    missed = sum(1 for o in outcomes for g in o.growth_errors if not g.get("found"))
    rel = [abs(g["error_m"]) / abs(g["truth_m"]) for g in growth if g["truth_m"]]
    flagged = [f for o in outcomes for f in o.unregistrable_flagged]
    stable = [o for o in outcomes if o.expected_level == "green"]
    return {
        "scenarios": len(outcomes),
        "alert_precision": tp / (tp + fp) if tp + fp else None,
        "alert_recall": tp / (tp + fn) if tp + fn else None,
        "true_alerts": tp,
        "false_alerts": fp,
        "missed_alerts": fn,
        "level_exact": sum(o.reached_level == o.expected_level for o in outcomes),
        "stable_sites_without_alert": f"{sum(o.reached_level == 'green' for o in stable)}/{len(stable)}",
        "alerts_on_stable_sites": sum(o.alerts for o in stable),
        "registration_error_px": {
            "n": len(reg),
            "median": statistics.median(reg) if reg else None,
            "max": max(reg) if reg else None,
        },
        "unregistrable_flagged": f"{sum(flagged)}/{len(flagged)}",
        "growth": {
            "n": len(growth),
            "not_tracked": missed,
            "median_abs_error_m": statistics.median(abs(g["error_m"]) for g in growth) if growth else None,
            "median_rel_error": statistics.median(rel) if rel else None,
            "within_max_5pct_2px": f"{sum(int(g['within_tolerance']) for g in growth)}/{len(growth)}",
        },
    }


def run_suite(suite_dir: Path, work: Path, processor_factory: Any = None) -> dict[str, Any]:
    """Run every scenario of a suite; return the summary and the per-scenario outcomes."""
    suite = load_suite(suite_dir)
    outcomes = [run_scenario(suite_dir / name, work, processor_factory) for name in suite.scenarios]
    return {"suite": str(suite_dir), "summary": summarise(outcomes), "scenarios": [o.to_dict() for o in outcomes]}


def format_report(result: dict[str, Any]) -> str:
    """Markdown tables of the suite run."""
    s = result["summary"]
    lines = [
        "| scenario | kind | growth | expected | reached | levels per survey | reg. error (px) | growth error (m) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in result["scenarios"]:
        reg = ", ".join(f"{e:.2f}" for e in o["registration_errors_px"]) or "-"
        growth = ", ".join(
            f"{g['measured_m']:+.3f} vs {g['truth_m']:+.3f}" if g.get("found") else f"not tracked ({g['truth_m']:+.3f})"
            for g in o["growth_errors"]
        )
        lines.append(
            f"| {o['name']} | {o['kind']} | {o['growth_class']} | {o['expected_level']} | {o['reached_level']} | "
            f"{' → '.join(o['levels'])} | {reg} | {growth or '-'} |"
        )
    g, r = s["growth"], s["registration_error_px"]

    def fmt(v: Any, spec: str = ".3f") -> str:
        return "-" if v is None else format(v, spec)

    lines += [
        "",
        f"- alerts (yellow or above): precision {fmt(s['alert_precision'], '.2f')}, "
        f"recall {fmt(s['alert_recall'], '.2f')} "
        f"({s['true_alerts']} true, {s['false_alerts']} false, {s['missed_alerts']} missed); "
        f"expected level reached exactly in {s['level_exact']}/{s['scenarios']}; "
        f"stable sites without alert {s['stable_sites_without_alert']} "
        f"({s['alerts_on_stable_sites']} alerts of yellow or above issued on them)",
        f"- registration error vs known GNSS offsets: median {fmt(r['median'], '.2f')} px, "
        f"max {fmt(r['max'], '.2f')} px "
        f"over {r['n']} survey pairs; unregistrable surveys flagged {s['unregistrable_flagged']}",
        f"- growth (extension of truly growing cracks): median |error| {fmt(g['median_abs_error_m'])} m, "
        f"median relative error {fmt(g['median_rel_error'], '.1%')}, within max(5 %, 2 px) {g['within_max_5pct_2px']}, "
        f"not tracked {g['not_tracked']}",
    ]
    return "\n".join(lines)
