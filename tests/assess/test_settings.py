from pathlib import Path

import pytest

from geowarn.assess.settings import load_site_config
from geowarn.errors import ConfigError


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
