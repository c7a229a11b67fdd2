"""Scenario suites built from the held-out crackforest images: files, grids, truth and determinism."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio

from geowarn.errors import ConfigError
from geowarn.harness.scenario import GROWTH_RATES_MM_DAY, Scenario, build_suite, load_scenario
from geowarn.harness.scenario.build import CRACK_KINDS
from geowarn.harness.scenario.schema import load_suite

pytestmark = pytest.mark.realdata

EXPECTED_LEVEL = {
    "stable": "none",
    "sub-noise": "none",
    "growing-slow": "yellow",
    "growing-moderate": "orange",
    "growing-fast": "red",
    "new-crack": "none",
    "unregistrable": "none",
}


@pytest.fixture(scope="module")
def suite(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("suite")
    return out, build_suite(shared_data, out, seed=11, n_per_kind=1, kinds=CRACK_KINDS)


def lengths(sc: Scenario) -> dict[int, list[float]]:
    """Truth length per truth id over the registrable surveys (0 where absent)."""
    good = [s for s in sc.surveys if s.registrable]
    ids = sorted({c.truth_id for s in good for c in s.cracks})
    return {i: [next((c.length_m for c in s.cracks if c.truth_id == i), 0.0) for s in good] for i in ids}


def test_suite_layout(suite: tuple[Path, list[Path]]) -> None:
    out, folders = suite
    meta = load_suite(out)
    assert meta.scenarios == [f"{k}-a" for k in CRACK_KINDS] == [f.name for f in folders]
    assert meta.seed == 11 and meta.source == "crack-seg/crackforest/test"
    raw = json.loads((out / "suite.json").read_text())
    assert {"seed", "scenarios", "source", "created"} <= raw.keys()
    for folder in folders:
        sc = load_scenario(folder)
        assert (folder / "scenario.json").read_text() == sc.to_json()
        assert sc.name == folder.name and sc.crs == "EPSG:32633" and sc.gsd_m == 0.01
        assert all(s.startswith("crack-seg/crackforest/test/images/") for s in sc.source_images)
        assert [s.date.isoformat() for s in sc.surveys] == ["2026-05-01", "2026-05-08", "2026-05-15", "2026-05-22"]
        assert sc.expected_alert_level == EXPECTED_LEVEL[sc.name[:-2]]


def test_geotiffs_match_the_record(suite: tuple[Path, list[Path]]) -> None:
    _, folders = suite
    for folder in folders:
        sc = load_scenario(folder)
        for sv in sc.surveys:
            with rasterio.open(folder / sv.file) as img, rasterio.open(folder / sv.truth_mask) as truth:
                assert img.crs.to_epsg() == 32633 and img.count == 3 and img.dtypes[0] == "uint8"
                assert img.res == pytest.approx((0.01, 0.01))
                assert img.block_shapes[0] == (256, 256) and img.compression.name.lower() == "deflate"
                assert img.width <= 1200 and img.height <= 800
                assert (img.width, img.height) == (sc.width_px, sc.height_px)
                assert truth.transform == img.transform and truth.crs == img.crs
                mask = truth.read(1)
                assert set(np.unique(mask)) <= {0, 1}
                ox, oy = sv.gnss_offset_m
                assert img.transform.c - sc.origin_m[0] == pytest.approx(round(ox / 0.01) * 0.01, abs=1e-6)
                assert img.transform.f - sc.origin_m[1] == pytest.approx(round(oy / 0.01) * 0.01, abs=1e-6)
            if sv.registrable:
                truth_px = sum(c.n_pixels for c in sv.cracks)
                assert mask.sum() >= 0.9 * truth_px


def test_offsets_and_expected_registration(suite: tuple[Path, list[Path]]) -> None:
    _, folders = suite
    for folder in folders:
        sc = load_scenario(folder)
        offsets = [s.gnss_offset_m for s in sc.surveys]
        assert all(math.hypot(*o) <= 0.5 for o in offsets)
        assert len(set(offsets)) == len(offsets)
        for k, sv in enumerate(sc.surveys):
            prev = sv.expected_registration_to_previous_m
            if k == 0 or not sv.registrable or not sc.surveys[k - 1].registrable:
                assert prev is None
            else:
                assert prev is not None
                assert prev[0] == pytest.approx(offsets[k - 1][0] - offsets[k][0], abs=1e-4)
                assert prev[1] == pytest.approx(offsets[k - 1][1] - offsets[k][1], abs=1e-4)


def test_truth_lengths_follow_the_kind(suite: tuple[Path, list[Path]]) -> None:
    out, _ = suite
    for kind in CRACK_KINDS:
        sc = load_scenario(out / f"{kind}-a")
        series = lengths(sc)
        changing = {i: v for i, v in series.items() if len(set(v)) > 1}
        if sc.growth_class in ("stable",):
            assert not changing and sc.dynamic_truth_id is None
            assert all(g.change == "none" and g.delta_length_m == 0.0 for g in sc.growth)
        elif sc.growth_class == "new":
            assert list(changing) == [sc.dynamic_truth_id]
            (v,) = changing.values()
            assert v[0] == v[1] == 0.0 < v[2] == v[3]
            assert [g.change for g in sc.growth if g.delta_length_m != 0] == ["new"]
        else:
            assert set(changing) <= {sc.dynamic_truth_id} and sc.dynamic_truth_id is not None
            v = series[sc.dynamic_truth_id]
            assert all(b >= a for a, b in itertools.pairwise(v))
            rates = [g.extension_rate_mm_day for g in sc.growth if g.truth_id in changing]
            if sc.growth_class == "sub-noise":
                assert 0.0 <= v[-1] - v[0] <= 0.03 and max(rates) < 5.0
            else:
                lo, hi = GROWTH_RATES_MM_DAY[sc.growth_class]
                assert all(b > a for a, b in itertools.pairwise(v))
                assert all(lo - 3.0 <= r <= hi + 3.0 for r in rates), rates
        for g in sc.growth:
            assert g.extension_rate_mm_day == pytest.approx(g.delta_length_m * 1000 / g.days, abs=1e-3)


def test_unregistrable_survey_is_flagged(suite: tuple[Path, list[Path]]) -> None:
    out, _ = suite
    sc = load_scenario(out / "unregistrable-a")
    flags = [s.registrable for s in sc.surveys]
    assert flags == [True, True, False, True]
    bad = sc.surveys[2]
    assert bad.cracks == [] and not set(bad.source_images) & set(sc.surveys[0].source_images)
    assert sc.surveys[3].expected_registration_to_previous_m is None
    assert sc.surveys[3].expected_registration_to_reference_m is not None
    assert {(g.from_date.isoformat(), g.to_date.isoformat()) for g in sc.growth} == {
        ("2026-05-01", "2026-05-08"),
        ("2026-05-08", "2026-05-22"),
    }


def test_deterministic_for_a_seed(shared_data: Path, tmp_path: Path) -> None:
    kinds = ["growing-slow", "unregistrable"]
    a = build_suite(shared_data, tmp_path / "a", seed=3, n_per_kind=1, kinds=kinds)
    b = build_suite(shared_data, tmp_path / "b", seed=3, n_per_kind=1, kinds=kinds)
    for fa, fb in zip(a, b, strict=True):
        digest = [hashlib.sha256((f / "scenario.json").read_bytes()).hexdigest() for f in (fa, fb)]
        assert digest[0] == digest[1]
        for name in ("survey_01.tif", "survey_02_truth.tif"):
            with rasterio.open(fa / name) as x, rasterio.open(fb / name) as y:
                assert np.array_equal(x.read(), y.read()) and x.transform == y.transform
    c = build_suite(shared_data, tmp_path / "c", seed=4, n_per_kind=1, kinds=kinds[:1])
    assert (c[0] / "scenario.json").read_bytes() != (a[0] / "scenario.json").read_bytes()


def test_bad_arguments(shared_data: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown scenario kind"):
        build_suite(shared_data, tmp_path, kinds=["wobbly"])
    with pytest.raises(ConfigError, match="does not exist"):
        build_suite(tmp_path / "missing", tmp_path)
    with pytest.raises(ConfigError, match="crack-seg/crackforest/nosplit"):
        build_suite(shared_data, tmp_path, split="nosplit")


def test_a_scenario_no_image_can_make_is_skipped_with_the_reason(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geowarn.harness.scenario import library

    monkeypatch.setattr(library, "MIN_KEPT_PX", 1e6)  # no crack is that long
    folders = build_suite(shared_data, tmp_path / "s", seed=1, n_per_kind=1, kinds=["growing-fast", "stable"])
    assert [f.name for f in folders] == ["stable-a"]
    (skipped,) = load_suite(tmp_path / "s").skipped
    assert skipped["name"] == "growing-fast-a" and skipped["kind"] == "growing-fast"
    assert "at least 1000" in skipped["reason"] and "px long" in skipped["reason"] and "--kinds" in skipped["reason"]
    assert not (tmp_path / "s" / "growing-fast-a").exists()
    with pytest.raises(ConfigError, match="no scenario could be built"):
        build_suite(shared_data, tmp_path / "t", seed=1, n_per_kind=1, kinds=["growing-fast"])


def test_stable_ground_sites_survey_crack_free_natural_ground(shared_data: Path, tmp_path: Path) -> None:
    folders = build_suite(shared_data, tmp_path, seed=2, n_per_kind=1, kinds=["stable-ground", "stable-scrub"])
    ground, scrub = (load_scenario(f) for f in folders)
    assert ground.source_images[0].startswith("natural/no-crack/") and ground.gsd_m == 0.02
    assert scrub.source_images == ["geotiff/australia.tif"] and 0.015 < scrub.gsd_m < 0.02
    for sc, folder in zip((ground, scrub), folders, strict=True):
        assert sc.kind == "stable" and sc.expected_alert_level == "none" and not sc.growth
        assert all(not s.cracks and s.registrable for s in sc.surveys)
        assert all(math.hypot(*s.gnss_offset_m) <= 0.5 for s in sc.surveys)
        first = np.asarray([0.0])
        for k, s in enumerate(sc.surveys):
            with rasterio.open(folder / s.file) as src:
                assert src.crs.to_string() == "EPSG:32633" and src.res[0] == pytest.approx(sc.gsd_m)
                pixels = src.read(1).astype(float)
            if k == 0:
                first = pixels
        assert not np.array_equal(first, pixels)  # light, shadows and offset differ between surveys
