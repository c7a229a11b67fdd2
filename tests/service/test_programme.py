from pathlib import Path

import pytest

from geowarn.errors import ConfigError
from geowarn.service.programme import load_programmes


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_a_programme_resolves_paths_beside_its_file(tmp_path: Path) -> None:
    (tmp_path / "pipelines" / "sites").mkdir(parents=True)
    (tmp_path / "pipelines" / "sites" / "north.yaml").write_text("rules: {overdue_days: 10}\n")
    folder = write(
        tmp_path / "pipelines",
        "north.yaml",
        """
service: {outbox_flush_seconds: 30, reminders: {every_minutes: 5}, home: ../data}
sites:
  - site: north-slope
    drop_folder: ../drop
    config: sites/north.yaml
    date_pattern: '(?P<year>\\d{4})(?P<month>\\d{2})(?P<day>\\d{2})'
    expected_every_days: 14
    detect: {min_crack_length_m: 0.2}
""",
    )
    programmes = load_programmes(folder)
    site = programmes.sites["north-slope"]
    assert site.drop_folder == (tmp_path / "drop").resolve()
    assert site.config == (tmp_path / "pipelines" / "sites" / "north.yaml").resolve()
    assert programmes.service.outbox_flush_seconds == 30 and programmes.service.reminders.every_minutes == 5
    assert programmes.service.home == (tmp_path / "data").resolve()
    assert site.fingerprint() != site.model_copy(update={"settle_seconds": 1}).fingerprint()


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("drop_folder: d\n    expect_every: 3", "key 'sites.0.expect_every': value 3:"),
        ("drop_folder: d\n    date_pattern: '(?P<year>\\d{4})'", "missing month, day"),
        ("drop_folder: d\n    date_pattern: '(['", "not a regular expression"),
        ("drop_folder: d\n    settle_seconds: -1", "key 'sites.0.settle_seconds': value -1:"),
        ("drop_folder: d\n    layout: zip", "key 'sites.0.layout': value 'zip':"),
        ("drop_folder: d\n    config: nowhere.yaml", "key 'sites.0.config'"),
        ("drop_folder: d\n    detect: {tile_sise: 3}", "tile_sise"),
        ("name: x", "key 'sites.0.drop_folder':"),
    ],
)
def test_bad_programmes_name_file_key_value_and_fix(tmp_path: Path, entry: str, expected: str) -> None:
    folder = write(tmp_path / "p", "a.yaml", f"sites:\n  - site: a\n    {entry}\n")
    with pytest.raises(ConfigError) as err:
        load_programmes(folder)
    message = str(err.value)
    assert str(folder / "a.yaml") in message or "a.yaml" in message, message
    assert expected in message, message
    assert ";" in message  # the fix follows


def test_a_site_in_two_files_and_two_service_sections_are_refused(tmp_path: Path) -> None:
    folder = write(tmp_path / "p", "a.yaml", "service: {}\nsites: [{site: a, drop_folder: d}]\n")
    write(folder, "b.yaml", "sites: [{site: a, drop_folder: e}]\n")
    with pytest.raises(ConfigError, match="already a site of"):
        load_programmes(folder)
    write(folder, "b.yaml", "service: {}\nsites: [{site: b, drop_folder: e}]\n")
    with pytest.raises(ConfigError, match="a second service section"):
        load_programmes(folder)


def test_an_empty_or_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such folder"):
        load_programmes(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no programme lists a site"):
        load_programmes(tmp_path / "empty")


def test_the_shipped_example_programme_loads(tmp_path: Path) -> None:
    programmes = load_programmes(Path(__file__).resolve().parents[2] / "pipelines")
    assert programmes.sites
