from pathlib import Path

import pytest

from geowarn.alerts.settings import AlertSettings
from geowarn.assess.settings import AssessmentSettings
from geowarn.errors import ConfigError
from geowarn.registration.settings import RegistrationSettings
from geowarn.settings import read_mapping
from geowarn.tracking.settings import TrackingSettings
from geowarn.workspace.site_config import Rules, load_site_config


def test_defaults_without_a_file() -> None:
    config = load_site_config(None)
    assert config.rules.extension_rate_mm_day.level_of(25) == "orange"
    assert config.rules.require_ack == ["orange", "red"]


def test_example_config_in_the_repo_is_valid() -> None:
    config = load_site_config(Path(__file__).parents[2] / "config" / "site.example.yaml")
    assert config.recipients
    assert set(r.channel for r in config.recipients) <= set(config.channels)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("rules: {extention_rate_mm_day: {yellow: 1}}", r"key 'rules\.extention_rate_mm_day'.*unknown key"),
        ("rules: {extension_rate_mm_day: {yellow: 30, orange: 20}}", "rise from yellow to red"),
        ("recipients: [{name: a, channel: nope, address: x}]", "channel 'nope', which is not defined"),
        ("[1, 2]", "expected a mapping"),
        ("rules: {", "not valid YAML"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        load_site_config(path)
    assert str(path) in str(info.value)


def test_every_stage_owns_its_part_of_the_rules() -> None:
    parts = (TrackingSettings, RegistrationSettings, AssessmentSettings, AlertSettings)
    assert sum(len(part.model_fields) for part in parts) == len(Rules.model_fields)  # disjoint and complete
    rules = Rules()
    assert (rules.tracking, rules.registration, rules.assessment, rules.alerting) == tuple(p() for p in parts)


def test_the_site_yaml_hands_each_stage_its_values(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "rules:\n  tip_noise_px: 3\n  max_registration_residual_m: 0.2\n  overdue_days: 9\n  require_ack: [red]\n"
    )
    rules = load_site_config(path).rules
    assert rules.tracking.tip_noise_px == 3 and rules.registration.max_registration_residual_m == 0.2
    assert rules.assessment.overdue_days == 9 and rules.alerting.require_ack == ["red"]


def test_the_example_documents_every_rule() -> None:
    example = read_mapping(Path(__file__).parents[2] / "config" / "site.example.yaml")
    assert set(example["rules"]) == set(Rules.model_fields)
