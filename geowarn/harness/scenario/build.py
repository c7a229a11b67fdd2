"""Multi-survey monitoring scenarios with known truth, built from held-out real crack images.

Each scenario is a site (a :class:`~geowarn.harness.scenario.compose.World` of two real crack
images, ``GSD_M`` pixels, top-left corner at ``ORIGIN_M`` in ``CRS``) surveyed
``n_surveys`` times ``interval_days`` apart from ``START_DATE``. Every survey has its own
georeferencing error (uniform in a disc of radius ``MAX_OFFSET_M``) and illumination.

Kinds (``build_suite(kinds=...)``; the ``kind`` recorded in scenario.json in brackets):
    * ``stable`` [stable]: the same ground every survey.
    * ``sub-noise`` [growing]: one crack grows by about ``SUB_NOISE_TOTAL_PX`` px in all
      (at most ``SUB_NOISE_MAX_STEP_PX`` px between surveys), far below the length
      uncertainty: no alert is expected.
    * ``growing-slow`` / ``growing-moderate`` / ``growing-fast`` [growing]: one crack grows
      at a constant extension rate drawn from ``GROWTH_RATES_MM_DAY`` (between the
      yellow / orange / red thresholds of ``ALERT_THRESHOLDS_MM_DAY`` and the next one).
      Earlier surveys show the crack cut at a distance along its longest skeleton path
      chosen so that the truth length, measured like the detector's, is the final length
      minus the growth still to come (see :mod:`geowarn.harness.scenario.truncate`).
    * ``new-crack`` [new-crack]: one crack is absent (erased) before survey
      ``NEW_CRACK_SURVEY + 1`` and present from then on.
    * ``unregistrable`` [unregistrable]: a stable site whose survey
      ``UNREGISTRABLE_SURVEY + 1`` shows unrelated ground (two other images).
    * ``stable-ground`` / ``stable-scrub`` [stable]: crack-free natural ground (a held-out
      natural drone frame crop / the scrubland orthomosaic) with moving tree shadows and JPEG
      recompression besides the offset and light change (see
      :mod:`geowarn.harness.scenario.ground`); these need no crack image.

Images are chosen from the held-out split only, spreading their use over the suite (so a
scenario's images also depend on the scenarios built before it); growing and new cracks
come from images whose largest crack is one long, clearly visible trunk (few branches).
Every draw comes from ``numpy.random.default_rng([seed, crc32(name)])``: the same call
with the same seed writes the same scenario.json files and rasters (``suite.json`` also
records its creation time).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import math
import shutil
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from geowarn.errors import ConfigError, OutputError
from geowarn.harness.scenario.compose import (
    apply_illumination,
    draw_illumination,
    draw_offset,
    list_samples,
    offset_between,
    render_survey,
    write_survey,
)
from geowarn.harness.scenario.cuts import CutSolver, measure_mask, sub_noise_cuts
from geowarn.harness.scenario.ground import GROUND_KINDS, Ground, grounds, render_ground_surveys
from geowarn.harness.scenario.library import ANY_CRACK, NoImageFitsError, SampleLibrary, any_crack, trunk_need, trunk_ok
from geowarn.harness.scenario.schema import (
    AlertLevel,
    GrowthClass,
    GrowthEntry,
    IlluminationRecord,
    Scenario,
    ScenarioKind,
    SurveyRecord,
    TruthCrack,
    WorldPart,
)
from geowarn.harness.scenario.truncate import CrackEraser, CrackPath, crack_path_order, largest_component
from geowarn.vectorize.measure import CrackMeasurement

__all__ = [
    "ALERT_THRESHOLDS_MM_DAY",
    "CRACK_KINDS",
    "CRS",
    "GROWTH_RATES_MM_DAY",
    "GSD_M",
    "KINDS",
    "MAX_OFFSET_M",
    "ORIGIN_M",
    "START_DATE",
    "KindSpec",
    "NoImageFitsError",
    "build_suite",
]

log = logging.getLogger(__name__)

CRS = "EPSG:32633"
GSD_M = 0.01
ORIGIN_M = (500000.0, 5100000.0)
START_DATE = dt.date(2026, 5, 1)
MAX_OFFSET_M = 0.5
#: Truth cracks follow the detector's defaults (``min_crack_length_m``, ``min_elongation``).
MIN_CRACK_LENGTH_M = 0.10
MIN_ELONGATION = 3.0
ALERT_THRESHOLDS_MM_DAY = {"yellow": 5.0, "orange": 20.0, "red": 50.0}
GROWTH_RATES_MM_DAY: dict[str, tuple[float, float]] = {
    "slow": (9.0, 14.0),
    "moderate": (26.0, 38.0),
    "fast": (65.0, 90.0),
}
#: Total growth (px) of a sub-noise crack over all surveys.
SUB_NOISE_TOTAL_PX = (1.0, 2.0)
#: Survey (0-based) where a new crack appears / the unrelated ground is shown.
NEW_CRACK_SURVEY = 2
UNREGISTRABLE_SURVEY = 2


@dataclass(frozen=True)
class KindSpec:
    """What a scenario kind builds.

    Attributes:
        kind: ``kind`` recorded in scenario.json.
        growth_class: ``growth_class`` recorded in scenario.json.
        rate_mm_day: Range of the extension rate drawn for growing cracks.

    """

    kind: ScenarioKind
    growth_class: GrowthClass
    rate_mm_day: tuple[float, float] = (0.0, 0.0)


SPECS: dict[str, KindSpec] = {
    "stable": KindSpec("stable", "stable"),
    "sub-noise": KindSpec("growing", "sub-noise"),
    "growing-slow": KindSpec("growing", "slow", GROWTH_RATES_MM_DAY["slow"]),
    "growing-moderate": KindSpec("growing", "moderate", GROWTH_RATES_MM_DAY["moderate"]),
    "growing-fast": KindSpec("growing", "fast", GROWTH_RATES_MM_DAY["fast"]),
    "new-crack": KindSpec("new-crack", "new"),
    "unregistrable": KindSpec("unregistrable", "stable"),
    **{kind: KindSpec("stable", "stable") for kind in GROUND_KINDS},
}
KINDS: tuple[str, ...] = tuple(SPECS)
#: Kinds made from crack images of ``source`` (the others survey crack-free natural ground).
CRACK_KINDS: tuple[str, ...] = tuple(k for k in SPECS if k not in GROUND_KINDS)


def _round(v: float, nd: int = 5) -> float:
    """Round to ``nd`` decimals, as a plain float (no -0.0)."""
    return round(float(v), nd) + 0.0


def _truth_crack(truth_id: int, part: NDArray[np.bool_], meas: CrackMeasurement) -> TruthCrack:
    """Truth record of a component (true map coordinates: world grid, no offset)."""
    rows, cols = np.nonzero(part)
    x0, y0 = ORIGIN_M
    g = GSD_M
    return TruthCrack(
        truth_id=truth_id,
        length_m=_round(meas.length_px * g),
        mean_width_m=_round(meas.mean_width_px * g),
        max_width_m=_round(meas.max_width_px * g),
        centroid=(_round(x0 + (cols.mean() + 0.5) * g, 4), _round(y0 - (rows.mean() + 0.5) * g, 4)),
        bbox=(
            _round(x0 + cols.min() * g, 4),
            _round(y0 - (rows.max() + 1) * g, 4),
            _round(x0 + (cols.max() + 1) * g, 4),
            _round(y0 - rows.min() * g, 4),
        ),
        n_pixels=int(rows.size),
    )


class _Truth:
    """Truth cracks of a site: the qualifying components of its full crack mask."""

    def __init__(self, full_mask: NDArray[np.bool_]) -> None:
        n, labels = cv2.connectedComponents(full_mask.astype(np.uint8), connectivity=8)
        self.labels = labels
        self.ids: list[int] = []  # component label of truth id k + 1
        self.full: dict[int, CrackMeasurement] = {}
        for k in range(1, n):
            comp = labels == k
            meas = measure_mask(comp)
            if meas.length_px * GSD_M >= MIN_CRACK_LENGTH_M and meas.length_px >= MIN_ELONGATION * meas.mean_width_px:
                self.ids.append(k)
                self.full[k] = meas

    def id_of(self, component: NDArray[np.bool_]) -> int | None:
        """Truth id of the component holding ``component``'s first pixel (None if not a truth crack)."""
        r, c = (int(v[0]) for v in np.nonzero(component))
        label = int(self.labels[r, c])
        return self.ids.index(label) + 1 if label in self.ids else None

    def cracks(self, shown: NDArray[np.bool_]) -> list[TruthCrack]:
        """Truth cracks visible in a survey showing the crack mask ``shown``."""
        out = []
        for tid, k in enumerate(self.ids, start=1):
            comp = self.labels == k
            part = shown & comp
            if not part.any():
                continue
            meas = self.full[k] if np.array_equal(part, comp) else measure_mask(part)
            out.append(_truth_crack(tid, part, meas))
        return out


@dataclass
class _Survey:
    """A survey's content before rendering."""

    image: NDArray[np.uint8]
    shown: NDArray[np.bool_]
    registrable: bool
    sources: list[str]


def _level(rate: float) -> int:
    """Index of the highest alert threshold reached (0: none)."""
    return sum(rate >= t for t in ALERT_THRESHOLDS_MM_DAY.values())


def _expected_level(growth: list[GrowthEntry]) -> AlertLevel:
    """Highest level held by one crack over two consecutive survey pairs."""
    names: list[AlertLevel] = ["none", "yellow", "orange", "red"]
    best = 0
    for tid in sorted({g.truth_id for g in growth}):
        levels = [_level(g.extension_rate_mm_day) for g in growth if g.truth_id == tid and g.change != "new"]
        for a, b in itertools.pairwise(levels):
            best = max(best, min(a, b))
    return names[best]


def _growth(surveys: list[SurveyRecord]) -> list[GrowthEntry]:
    """Length changes between consecutive registrable surveys."""
    good = [s for s in surveys if s.registrable]
    out = []
    for before, after in itertools.pairwise(good):
        days = (after.date - before.date).days
        prev = {c.truth_id: c.length_m for c in before.cracks}
        for c in after.cracks:
            delta = _round(c.length_m - prev.get(c.truth_id, 0.0))
            change = "new" if c.truth_id not in prev else ("growth" if delta > 0 else "none")
            record = {
                "truth_id": c.truth_id,
                "from": before.date,
                "to": after.date,
                "days": days,
                "delta_length_m": delta,
                "extension_rate_mm_day": _round(delta * 1000.0 / days, 3),
                "change": change,
            }
            out.append(GrowthEntry.model_validate(record))
    return out


def _growth_step(spec: KindSpec, rng: np.random.Generator, n_surveys: int, interval_days: int) -> tuple[float, float]:
    """Nominal extension rate (mm/day) and truth length step between surveys (px)."""
    if spec.growth_class == "sub-noise":
        step_px = float(rng.uniform(*SUB_NOISE_TOTAL_PX)) / (n_surveys - 1)
        return step_px * GSD_M * 1000.0 / interval_days, step_px
    if spec.rate_mm_day[1] > 0:
        rate = float(rng.uniform(*spec.rate_mm_day))
        return rate, rate * interval_days / (GSD_M * 1000.0)
    return 0.0, 0.0


def _cuts(spec: KindSpec, path: CrackPath, comp: NDArray[np.bool_], step_px: float, n_surveys: int) -> list[float]:
    """Cut distance along the dynamic crack's path for each survey (inf: whole crack)."""
    if spec.kind == "new-crack":
        return [0.0 if k < NEW_CRACK_SURVEY else math.inf for k in range(n_surveys)]
    solver = CutSolver(path, comp)
    if spec.growth_class == "sub-noise":
        return sub_noise_cuts(solver, step_px * (n_surveys - 1), n_surveys)
    final = solver.length(solver.full_cut)
    cuts = [math.inf] * n_surveys
    upper = solver.full_cut
    for k in reversed(range(n_surveys - 1)):
        upper = solver.solve(final - (n_surveys - 1 - k) * step_px, upper)
        cuts[k] = upper
    return cuts


def _render(
    folder: Path, contents: list[_Survey], truth: _Truth, rng: np.random.Generator, interval_days: int
) -> list[SurveyRecord]:
    """Write each survey's GeoTIFF and truth mask; their records."""
    records: list[SurveyRecord] = []
    offsets: list[tuple[float, float]] = []
    for k, content in enumerate(contents):
        offset = draw_offset(rng, MAX_OFFSET_M)
        ill = draw_illumination(rng)
        rgb, truth_mask, transform = render_survey(content.image, content.shown, ORIGIN_M, GSD_M, offset)
        rgb = apply_illumination(rgb, ill, rng)
        file, truth_file = write_survey(folder, k, rgb, truth_mask, CRS, transform)
        prev_ok = k > 0 and content.registrable and records[-1].registrable
        ref_ok = k > 0 and content.registrable and records[0].registrable
        records.append(
            SurveyRecord(
                file=file,
                truth_mask=truth_file,
                date=START_DATE + dt.timedelta(days=k * interval_days),
                gnss_offset_m=offset,
                expected_registration_to_previous_m=offset_between(offsets[-1], offset) if prev_ok else None,
                expected_registration_to_reference_m=offset_between(offsets[0], offset) if ref_ok else None,
                illumination=IlluminationRecord.model_validate(asdict(ill)),
                registrable=content.registrable,
                source_images=content.sources,
                cracks=truth.cracks(content.shown) if content.registrable else [],
            )
        )
        offsets.append(offset)
    return records


def _build_one(
    lib: SampleLibrary, name: str, spec: KindSpec, seed: int, folder: Path, n_surveys: int, interval_days: int
) -> Scenario:
    """Build one scenario into ``folder``."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    rate, step_px = _growth_step(spec, rng, n_surveys, interval_days)
    main_slot = int(rng.integers(2))
    growth_px = step_px * (n_surveys - 1) if spec.kind == "growing" else 0.0
    dynamic = spec.kind in ("growing", "new-crack")
    ok = trunk_ok(growth_px) if dynamic else any_crack
    need = trunk_need(growth_px) if dynamic else ANY_CRACK
    main = lib.pick(rng, ok, main_slot, set(), need=need)
    other = lib.pick(rng, any_crack, 1 - main_slot, {main}, need=ANY_CRACK, width=lib.width(main))
    order = [main, other] if main_slot == 0 else [other, main]
    world = lib.world(rng, order, lib.width(main))
    truth = _Truth(world.mask)
    sources = [p["image"] for p in world.parts]
    contents = [_Survey(world.image, world.mask, True, sources) for _ in range(n_surveys)]
    dynamic_id = None
    if spec.kind in ("growing", "new-crack"):
        comp = largest_component(world.part_masks[main_slot])
        dynamic_id = truth.id_of(comp)
        path = crack_path_order(comp, reverse=bool(rng.integers(2)))
        eraser = CrackEraser(world.image, world.mask, comp, path, rng)
        for k, cut in enumerate(_cuts(spec, path, comp, step_px, n_surveys)):
            img, kept = eraser.erase(cut)
            contents[k] = _Survey(img, (world.mask & ~comp) | kept, True, sources)
    if spec.kind == "unregistrable":
        a = lib.pick(rng, any_crack, 0, set(order), need=ANY_CRACK)
        b = lib.pick(rng, any_crack, 1, {*order, a}, need=ANY_CRACK, width=lib.width(a))
        foreign = lib.world(rng, [a, b])
        contents[UNREGISTRABLE_SURVEY] = _Survey(
            foreign.image, foreign.mask, False, [p["image"] for p in foreign.parts]
        )
    records = _render(folder, contents, truth, rng, interval_days)
    growth = _growth(records)
    return Scenario(
        name=name,
        kind=spec.kind,
        growth_class=spec.growth_class,
        seed=seed,
        crs=CRS,
        gsd_m=GSD_M,
        origin_m=ORIGIN_M,
        width_px=int(world.image.shape[1]),
        height_px=int(world.image.shape[0]),
        interval_days=interval_days,
        source_images=list(dict.fromkeys(s for c in contents for s in c.sources)),
        world=[WorldPart.model_validate(p) for p in world.parts],
        min_crack_length_m=MIN_CRACK_LENGTH_M,
        min_elongation=MIN_ELONGATION,
        nominal_rate_mm_day=_round(rate, 3),
        alert_thresholds_mm_day=dict(ALERT_THRESHOLDS_MM_DAY),
        expected_alert_level=_expected_level(growth),
        dynamic_truth_id=dynamic_id,
        surveys=records,
        growth=growth,
    )


def _build_ground(
    pool: list[Ground], name: str, seed: int, folder: Path, n_surveys: int, interval_days: int
) -> Scenario:
    """Build one stable-ground scenario on a ground drawn from ``pool`` into ``folder``."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    ground = pool[int(rng.integers(len(pool)))]
    records = render_ground_surveys(
        ground,
        rng,
        folder,
        crs=CRS,
        origin_m=ORIGIN_M,
        start=START_DATE,
        n_surveys=n_surveys,
        interval_days=interval_days,
        max_offset_m=MAX_OFFSET_M,
    )
    height, width = ground.valid.shape
    return Scenario(
        name=name,
        kind="stable",
        growth_class="stable",
        seed=seed,
        crs=CRS,
        gsd_m=ground.gsd_m,
        origin_m=ORIGIN_M,
        width_px=width,
        height_px=height,
        interval_days=interval_days,
        source_images=[ground.name],
        world=[WorldPart(image=ground.name, row0=0, flip_rows=False, flip_cols=False)],
        min_crack_length_m=MIN_CRACK_LENGTH_M,
        min_elongation=MIN_ELONGATION,
        nominal_rate_mm_day=0.0,
        alert_thresholds_mm_day=dict(ALERT_THRESHOLDS_MM_DAY),
        expected_alert_level="none",
        dynamic_truth_id=None,
        surveys=records,
        growth=[],
    )


def _mkdir(path: Path) -> None:
    """Create a folder or raise ``OutputError``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {path}: {exc}; choose a writable output folder") from exc


def build_suite(
    data_dir: Path,
    out_dir: Path,
    *,
    seed: int = 0,
    n_per_kind: int = 2,
    kinds: Sequence[str] = KINDS,
    source: str = "crackforest",
    split: str = "test",
    n_surveys: int = 4,
    interval_days: int = 7,
) -> list[Path]:
    """Build a suite of monitoring scenarios with known truth.

    Writes ``out_dir/<name>/scenario.json`` with ``survey_NN.tif`` and
    ``survey_NN_truth.tif`` per scenario, and ``out_dir/suite.json``. A scenario that no image
    of the split can make is skipped with a warning and listed with the reason under
    ``skipped`` in suite.json; the others are built.

    Args:
        data_dir: Real data folder holding ``crack-seg/`` (and ``natural/no-crack``,
            ``geotiff/australia.tif`` for the stable-ground kinds).
        out_dir: Output folder (created; existing scenario files are replaced).
        seed: Seed of every random draw.
        n_per_kind: Scenarios per kind, named ``<kind>-a``, ``<kind>-b``...
        kinds: Kinds to build (see the module docstring), in this order.
        source: ``crack-seg`` source; use a held-out split only.
        split: Split of ``source``.
        n_surveys: Surveys per scenario (3 to 12).
        interval_days: Days between surveys.

    Returns:
        The scenario folders, in build order.

    Raises:
        ConfigError: If an argument is invalid, the data folder or split is missing, or no
            scenario could be built.
        InvalidRasterError: If a source image or mask cannot be read.
        OutputError: If the outputs cannot be written.

    """
    unknown = [k for k in kinds if k not in SPECS]
    if unknown:
        raise ConfigError(f"unknown scenario kind(s) {unknown}; choose from {list(KINDS)}")
    if not 1 <= n_per_kind <= 26:
        raise ConfigError(f"n_per_kind must be within 1..26, got {n_per_kind}")
    if not 3 <= n_surveys <= 12:
        raise ConfigError(f"n_surveys must be within 3..12, got {n_surveys}")
    if interval_days < 1:
        raise ConfigError(f"interval_days must be at least 1, got {interval_days}")
    crack_kinds = [k for k in kinds if k not in GROUND_KINDS]
    lib = SampleLibrary(list_samples(Path(data_dir), source, split)) if crack_kinds else None
    pools = {k: grounds(Path(data_dir), k) for k in dict.fromkeys(kinds) if k in GROUND_KINDS}
    out_dir = Path(out_dir)
    _mkdir(out_dir)
    folders: list[Path] = []
    names: list[str] = []
    skipped: list[dict[str, str]] = []
    for kind in kinds:
        for i in range(n_per_kind):
            name = f"{kind}-{chr(ord('a') + i)}"
            folder = out_dir / name
            _mkdir(folder)
            try:
                if kind in pools:
                    scenario = _build_ground(pools[kind], name, seed, folder, n_surveys, interval_days)
                else:
                    assert lib is not None
                    scenario = _build_one(lib, name, SPECS[kind], seed, folder, n_surveys, interval_days)
            except NoImageFitsError as exc:
                log.warning("scenario %s (%s) skipped: %s", name, kind, exc)
                skipped.append({"name": name, "kind": kind, "reason": str(exc)})
                shutil.rmtree(folder, ignore_errors=True)
                continue
            _write_text(folder / "scenario.json", scenario.to_json())
            log.info("scenario %s: %s, %s", name, scenario.kind, scenario.growth_class)
            folders.append(folder)
            names.append(name)
    suite: dict[str, Any] = {
        "seed": seed,
        "scenarios": names,
        "source": f"crack-seg/{source}/{split}" if crack_kinds else "natural ground",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kinds": list(kinds),
        "n_per_kind": n_per_kind,
        "skipped": skipped,
    }
    _write_text(out_dir / "suite.json", json.dumps(suite, indent=2) + "\n")
    if not folders:
        reasons = "; ".join(f"{s['name']}: {s['reason']}" for s in skipped)
        raise ConfigError(f"no scenario could be built from {source}/{split}: {reasons}")
    return folders


def _write_text(path: Path, text: str) -> None:
    """Write a text file or raise ``OutputError``."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc}; choose a writable output folder") from exc
