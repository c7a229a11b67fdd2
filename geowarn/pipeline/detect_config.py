"""Validated configuration for ``geowarn detect`` (YAML file + command-line overrides)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from geowarn.settings import load

#: Where every detect setting is documented.
DETECT_DOCS = "config/detect.yaml"


class DetectConfig(BaseModel):
    """Every knob of the detection pipeline; unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    classifier: str | None = Field("tilecls-s", description="tile gate model name; null segments every tile")
    segmenter: str = Field("unet-s", description="segmentation model name")
    classifier_weights: Path | None = Field(None, description="weights file overriding the shipped one")
    segmenter_weights: Path | None = Field(None, description="weights file overriding the shipped one")
    gate_threshold: float | None = Field(None, ge=0, le=1, description="tile gate threshold; null: manifest value")
    prob_threshold: float | None = Field(None, gt=0, lt=1, description="crack mask threshold; null: manifest value")
    verifier: str | None = Field(
        "verify-s", description="model that looks again at each crack candidate on the orthomosaic; null: none"
    )
    verifier_weights: Path | None = Field(None, description="weights file overriding the shipped one")
    verify_threshold: float | None = Field(
        None, ge=0, le=1, description="candidates scoring below this are not cracks; null: manifest value"
    )
    tile_core: int = Field(256, ge=32, le=4096, description="tile stride in px (tiles add 2 x margin)")
    tile_margin: int = Field(16, ge=0, le=256, description="overlap on each tile side in px")
    target_gsd_m: float | None = Field(None, gt=0, description="resample tiles to this GSD before the models")
    classify_batch: int = Field(64, ge=1)
    segment_batch: int | None = Field(None, ge=1, description="null: 4 on CPU (memory), 32 on CUDA")
    min_crack_length_m: float = Field(0.10, ge=0, description="cracks shorter than this are dropped")
    min_elongation: float = Field(
        3.0, ge=0, description="cracks shorter than this many mean widths are dropped (blobs, not cracks)"
    )
    max_crack_width_m: float | None = Field(
        0.30, gt=0, description="features broader than this on average (m) are dropped (shade, gullies); null: no limit"
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: Literal["auto", "off", "bf16", "fp16"] = Field("auto", description="mixed precision (auto: bf16 on CUDA)")
    threads: int = Field(0, ge=0, description="CPU threads for torch; 0 = all cores")
    gdal_cache_mb: int = Field(256, ge=16, description="GDAL block cache size")
    cluster: str | None = Field(
        None, description="run the tiles on Dask: local, local:N or tcp://scheduler:8786; null: in this process"
    )
    max_pixels: float | None = Field(
        None, gt=0, description="largest orthomosaic accepted (px); null: $GEOWARN_MAX_PIXELS, else 4e9"
    )

    @field_validator("classifier", "verifier", mode="before")
    @classmethod
    def _no_model(cls, value: object) -> object:
        """``none`` or an empty string disables the gate (the verifier)."""
        return None if isinstance(value, str) and value.strip().lower() in ("", "none") else value

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, value: str | None) -> str | None:
        """A cluster that can be named (see ``geowarn.scale.cluster``); none or empty: this process."""
        if value is None or value.strip().lower() in ("", "none"):
            return None
        from geowarn.scale.cluster import parse_cluster

        parse_cluster(value)
        return value.strip()

    def to_json_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (paths as strings)."""
        return self.model_dump(mode="json")


#: The settings that choose the models and their thresholds.
MODEL_SETTINGS = (
    "classifier",
    "segmenter",
    "classifier_weights",
    "segmenter_weights",
    "gate_threshold",
    "prob_threshold",
    "verifier",
    "verifier_weights",
    "verify_threshold",
)

#: Monitoring segments every tile: a gate that passes a faint crack's tile in one survey and not
#: in the next would make the crack flicker on and off the map (see README, Monitoring).
MONITOR_DETECT_DEFAULTS: dict[str, Any] = {"classifier": None}


def load_detect_config(
    path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
    *,
    overrides_from: str = "command line",
    none_given: bool = False,
) -> DetectConfig:
    """``defaults``, then ``path`` (YAML, optional; its ``detect:`` section if it has one), then ``overrides``.

    ``None`` values in ``overrides`` mean "not given", unless ``none_given`` (see ``geowarn.settings.load``).

    Raises:
        ConfigError: the file cannot be read, or a setting is unknown or invalid (``geowarn.settings`` format).

    """
    return load(
        DetectConfig,
        path,
        section="detect",
        defaults=defaults,
        overrides=overrides,
        docs=DETECT_DOCS,
        overrides_from=overrides_from,
        none_given=none_given,
    )
