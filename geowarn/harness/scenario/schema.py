"""Typed view of ``scenario.json`` and ``suite.json``.

Conventions:
    * ``gnss_offset_m = (ox, oy)``: a ground feature at true map position P appears at
      P + (ox, oy) in the survey raster.
    * A registration returns (dx, dy) to add to moving coordinates to land on the
      reference, so from survey k to survey r it is ``(ox_r - ox_k, oy_r - oy_k)``:
      ``expected_registration_to_previous_m`` (to the previous survey) and
      ``expected_registration_to_reference_m`` (to the first survey); both are null for
      the first survey, for a survey that is not registrable, and towards one.
    * Crack ``centroid`` and ``bbox`` are true map coordinates (no georeferencing error);
      the truth mask GeoTIFF lies on the survey's grid and shows the cracks where the
      survey image shows them.
    * ``cracks`` lists the truth cracks (8-connected components of the site's full crack
      mask at least ``min_crack_length_m`` long and ``min_elongation`` times longer than
      wide) visible in the survey, measured with
      :func:`geowarn.vectorize.measure_component` like the detector's cracks. A survey
      that is not registrable lists none; its truth mask still marks the cracks it shows.
    * ``growth`` has one entry per truth crack and pair of consecutive registrable
      surveys where the crack is visible in the later one: ``change`` is ``new`` when it
      was absent before, ``growth`` when it got longer and ``none`` otherwise.
    * ``dynamic_truth_id``: the truth crack that grows or appears (null when none does).
    * ``expected_alert_level``: the highest level of ``alert_thresholds_mm_day`` reached by
      the extension rate of one crack over two consecutive survey pairs (``new`` pairs
      excluded), or ``none``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from geowarn.errors import ConfigError
from geowarn.settings import read_mapping, validate

__all__ = [
    "AlertLevel",
    "GrowthClass",
    "GrowthEntry",
    "IlluminationRecord",
    "Scenario",
    "ScenarioKind",
    "Suite",
    "SurveyRecord",
    "TruthCrack",
    "WorldPart",
    "load_scenario",
    "load_suite",
]

ScenarioKind = Literal["growing", "stable", "new-crack", "unregistrable"]
GrowthClass = Literal["stable", "sub-noise", "slow", "moderate", "fast", "new"]
AlertLevel = Literal["none", "yellow", "orange", "red"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class IlluminationRecord(_Record):
    """Radiometric change of a survey (see :class:`geowarn.harness.scenario.compose.Illumination`)."""

    gain: float
    gamma: float
    noise_sigma: float
    colour_cast: tuple[float, float, float]
    blur_sigma: float


class TruthCrack(_Record):
    """A truth crack as visible in one survey (metres, true map coordinates)."""

    truth_id: int
    length_m: float
    mean_width_m: float
    max_width_m: float
    centroid: tuple[float, float]
    bbox: tuple[float, float, float, float]
    n_pixels: int


class SurveyRecord(_Record):
    """One survey: files, date, georeferencing error, illumination and truth cracks."""

    file: str
    truth_mask: str
    date: dt.date
    gnss_offset_m: tuple[float, float]
    expected_registration_to_previous_m: tuple[float, float] | None
    expected_registration_to_reference_m: tuple[float, float] | None
    illumination: IlluminationRecord
    registrable: bool
    source_images: list[str]
    cracks: list[TruthCrack]


class GrowthEntry(_Record):
    """Length change of one truth crack between two consecutive registrable surveys."""

    truth_id: int
    from_date: dt.date = Field(alias="from")
    to_date: dt.date = Field(alias="to")
    days: int
    delta_length_m: float
    extension_rate_mm_day: float
    change: Literal["none", "growth", "new"]


class WorldPart(_Record):
    """A source image placed in the site canvas."""

    image: str
    row0: int
    flip_rows: bool
    flip_cols: bool


class Scenario(_Record):
    """Typed view of ``scenario.json``."""

    name: str
    kind: ScenarioKind
    growth_class: GrowthClass
    seed: int
    crs: str
    gsd_m: float
    origin_m: tuple[float, float]
    width_px: int
    height_px: int
    interval_days: int
    source_images: list[str]
    world: list[WorldPart]
    min_crack_length_m: float
    min_elongation: float
    nominal_rate_mm_day: float
    alert_thresholds_mm_day: dict[str, float]
    expected_alert_level: AlertLevel
    dynamic_truth_id: int | None
    surveys: list[SurveyRecord]
    growth: list[GrowthEntry]

    def to_json(self) -> str:
        """JSON text as written to ``scenario.json``."""
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=2) + "\n"


class Suite(_Record):
    """Typed view of ``suite.json``."""

    seed: int
    scenarios: list[str]
    source: str
    created: str
    kinds: list[str] = Field(default_factory=list)
    n_per_kind: int = 1
    skipped: list[dict[str, str]] = Field(default_factory=list)  # scenarios no image could make, with the reason


_RecordT = TypeVar("_RecordT", bound=BaseModel)
_FIX = "build it with: geowarn scenario build --data ../shared/data --out SUITE"


def _load(model: type[_RecordT], path: Path, name: str) -> _RecordT:
    """Read ``name`` in folder ``path`` (or the file ``path``) into ``model``, or raise ``ConfigError``."""
    path = Path(path)
    file = path / name if path.is_dir() else path
    if not file.is_file():
        raise ConfigError(f"{file}: no such file; {_FIX}")
    return validate(model, read_mapping(file), str(file), docs=f"the schema in {__name__}, or rebuild it")


def load_scenario(path: Path) -> Scenario:
    """Read a scenario folder (or its ``scenario.json``).

    Raises:
        ConfigError: If the file is missing, is not JSON or does not follow the schema.

    """
    return _load(Scenario, path, "scenario.json")


def load_suite(path: Path) -> Suite:
    """Read a suite folder (or its ``suite.json``).

    Raises:
        ConfigError: If the file is missing, is not JSON or does not follow the schema.

    """
    return _load(Suite, path, "suite.json")
