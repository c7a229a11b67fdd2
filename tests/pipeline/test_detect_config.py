from __future__ import annotations

from pathlib import Path

import pytest

from geowarn.errors import ConfigError
from geowarn.pipeline.detect_config import MONITOR_DETECT_DEFAULTS, DetectConfig, load_detect_config


def test_defaults_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "detect.yaml"
    path.write_text("detect:\n  tile_core: 512\n  min_crack_length_m: 0.2\n")
    cfg = load_detect_config(path, {"min_crack_length_m": 0.5, "device": None})
    assert cfg.tile_core == 512 and cfg.min_crack_length_m == 0.5 and cfg.device == "auto"


def test_unknown_key_rejected_with_name_and_value(tmp_path: Path) -> None:
    path = tmp_path / "detect.yaml"
    path.write_text("tile_size: 300\n")
    with pytest.raises(ConfigError) as err:
        load_detect_config(path)
    assert f"{path}: key 'tile_size': value 300: unknown key" in str(err.value)
    assert "keys allowed here: classifier, segmenter," in str(err.value)


def test_out_of_range_value() -> None:
    with pytest.raises(ConfigError, match=r"command line: key 'prob_threshold': value 1\.5: .*less than 1"):
        load_detect_config(None, {"prob_threshold": 1.5})


def test_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("detect: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_detect_config(path)


def test_defaults_come_before_the_file_and_the_overrides(tmp_path: Path) -> None:
    assert load_detect_config(None, None, MONITOR_DETECT_DEFAULTS).classifier is None
    path = tmp_path / "gated.yaml"
    path.write_text("detect:\n  classifier: tilecls-s\n")
    assert load_detect_config(path, None, MONITOR_DETECT_DEFAULTS).classifier == "tilecls-s"
    assert load_detect_config(path, {"classifier": "none"}, MONITOR_DETECT_DEFAULTS).classifier is None


@pytest.mark.parametrize("value", ["none", "None", ""])
def test_gate_can_be_disabled(value: str) -> None:
    assert DetectConfig(classifier=value).classifier is None


def test_shipped_default_config_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    cfg = load_detect_config(root / "config" / "detect.yaml")
    assert cfg == DetectConfig()


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).resolve().parents[2] / "pipelines").glob("*.yaml")), ids=lambda p: p.name
)
def test_pipeline_detect_settings_are_valid(path: Path) -> None:
    from geowarn.pipeline.detect_config import MONITOR_DETECT_DEFAULTS
    from geowarn.service.programme import load_programmes

    for site in load_programmes(path.parent).sites.values():
        if isinstance(site.detect, dict):
            load_detect_config(None, site.detect, MONITOR_DETECT_DEFAULTS, overrides_from=str(path))
