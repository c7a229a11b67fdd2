from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import LineString, Polygon

from geowarn.alerts.payload import AlertPayload
from geowarn.alerts.render import render_evidence_map, render_html, render_sms, render_text

MakePayload = Callable[..., AlertPayload]


def test_text_has_every_figure_with_uncertainty(make_payload: MakePayload) -> None:
    text = render_text(make_payload())
    assert "geowarn ORANGE (up from YELLOW) – North slope" in text
    assert "crack 12 extends 31 ± 4 mm/day (orange ≥ 20 mm/day) in 2 surveys" in text
    assert "length 3.412 ± 0.020 m" in text
    assert "max width 0.045 ± 0.004 m" in text
    assert "Δlength +0.312 ± 0.021 m" in text
    assert "Δmax width +0.004 ± 0.003 m" in text
    assert "extension 31.2 ± 2.1 mm/day" in text
    assert "opening 2.0 ± 1.5 mm/day" in text
    assert "2024-05-03" in text and "2024-05-01" in text and "2 days earlier" in text
    assert "2024-05-20 (window 2024-05-15 to 2024-05-29)" in text
    assert "https://dash.example/sites/north-slope/alerts/42" in text
    assert "geowarn 0.1.0; tilecls-s 83aa2534; unet-s e30313d9" in text
    assert "acknowledge with: geowarn alerts ack 42" in text.lower()


def test_text_wording_per_crack(make_payload: MakePayload) -> None:
    lines = render_text(make_payload()).splitlines()
    status = {line.split()[1]: line for line in lines if line.startswith("  crack ")}
    assert status["12"].endswith(": extending")
    assert status["14"].endswith("stable (no significant change)")
    assert status["20"].endswith("new (no earlier measurement)")


def test_ack_hint_only_when_required(make_payload: MakePayload) -> None:
    payload = make_payload(requires_ack=False, time_of_failure=None, dashboard_url=None)
    text = render_text(payload)
    assert "alerts ack" not in text
    assert "time of failure" not in text.lower()
    assert "Dashboard" not in text
    assert "alerts ack" not in render_html(payload, None)
    assert "alerts ack" not in render_sms(payload)


def test_first_survey_wording(make_payload: MakePayload) -> None:
    text = render_text(make_payload(previous_survey_date=None))
    assert "first survey of the site" in text


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"] or "")
        if tag == "a":
            self.links.append(values["href"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_same_content_escaped(make_payload: MakePayload) -> None:
    payload = make_payload(site_name="North <slope> & co", reasons=["width > 5 cm <script>"])
    page = render_html(payload, "map-42@example.org")
    assert "<script>" not in page
    parser = _Collector()
    parser.feed(page)
    text = "".join(parser.text)
    assert "North <slope> & co" in text
    assert "width > 5 cm <script>" in text
    assert "Δlength +0.312 ± 0.021 m" in text
    assert "no significant change" in text
    assert parser.images == ["cid:map-42@example.org"]
    assert parser.links == ["https://dash.example/sites/north-slope/alerts/42"]
    assert "geowarn alerts ack 42" in text
    assert not _Collector().images  # sanity
    plain = _Collector()
    plain.feed(render_html(payload, None))
    assert plain.images == []


@pytest.mark.parametrize("max_len", [70, 160, 320])
def test_sms_short_ascii_keeps_link(make_payload: MakePayload, max_len: int) -> None:
    payload = make_payload()
    sms = render_sms(payload, max_len=max_len)
    assert len(sms) <= max_len
    assert sms.startswith("geowarn ORANGE")
    if max_len >= 160:
        assert sms.endswith(" https://dash.example/sites/north-slope/alerts/42")
        assert "crack 12 extends 31.2 +/- 2.1 mm/day" in sms
    assert sms.isascii()


def test_sms_full(make_payload: MakePayload) -> None:
    sms = render_sms(make_payload(), max_len=320)
    assert "ack: geowarn alerts ack 42" in sms
    assert "1 crack extending, 1 new" in sms


def _png_shape(data: bytes) -> tuple[int, ...]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return tuple(image.shape)


@pytest.fixture
def ortho(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    data = rng.integers(60, 200, (3, 200, 300), dtype=np.uint8)
    data[:, 100:104, 50:250] = 10  # a dark crack along row 100
    path = tmp_path / "ortho.tif"
    profile = {"driver": "GTiff", "width": 300, "height": 200, "count": 3, "dtype": "uint8", "crs": "EPSG:32633"}
    with rasterio.open(path, "w", transform=from_origin(500000.0, 5200000.0, 0.02, 0.02), **profile) as dst:
        dst.write(data)
    return path


def _geometries() -> tuple[list[LineString], list[Polygon | LineString]]:
    previous = [LineString([(500001.0, 5199998.0), (500003.0, 5199998.0)])]
    current = [
        LineString([(500001.0, 5199998.0), (500004.5, 5199998.0)]),
        Polygon([(500001.0, 5199997.95), (500004.5, 5199997.95), (500004.5, 5199998.05), (500001.0, 5199998.05)]),
    ]
    return previous, current


def test_evidence_map_on_orthomosaic(ortho: Path) -> None:
    previous, current = _geometries()
    png = render_evidence_map(ortho, previous, current, size_px=256, pad_m=0.5)
    assert _png_shape(png) == (256, 256, 3)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    # current outlines are red (BGR), the ortho texture is grey-ish noise
    red = (image[:, :, 2] > 180) & (image[:, :, 0] < 90) & (image[:, :, 1] < 90)
    assert red.sum() > 100


def test_evidence_map_partly_outside_and_uint16(tmp_path: Path) -> None:
    path = tmp_path / "o16.tif"
    data = (np.arange(3 * 50 * 50, dtype=np.uint16).reshape(3, 50, 50) * 7) % 60000
    profile = {"driver": "GTiff", "width": 50, "height": 50, "count": 3, "dtype": "uint16", "crs": "EPSG:32633"}
    with rasterio.open(path, "w", transform=from_origin(500000.0, 5200000.0, 0.1, 0.1), **profile) as dst:
        dst.write(data)
    line = LineString([(499999.0, 5199999.0), (500002.0, 5199996.0)])  # crosses the raster's edge
    png = render_evidence_map(path, [], [line], size_px=128)
    assert _png_shape(png) == (128, 128, 3)


def test_evidence_map_without_orthomosaic(tmp_path: Path) -> None:
    previous, current = _geometries()
    missing = render_evidence_map(tmp_path / "missing.tif", previous, current, size_px=200)
    assert _png_shape(missing) == (200, 200, 3)
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"II*\x00 not a tiff")
    assert _png_shape(render_evidence_map(broken, previous, current, size_px=200)) == (200, 200, 3)
    assert _png_shape(render_evidence_map(None, [], [], size_px=100)) == (100, 100, 3)


def test_a_reminder_says_so_in_every_form(make_payload: MakePayload) -> None:
    reminder = make_payload(dashboard_url="https://geowarn.example.org/sites/north-slope/alerts/42").as_reminder(2)
    assert render_sms(reminder).startswith("geowarn REMINDER 2 ORANGE (up from YELLOW) North slope: crack 12 extends")
    assert render_sms(reminder).endswith("https://geowarn.example.org/sites/north-slope/alerts/42")
    text = render_text(reminder)
    assert text.startswith("geowarn REMINDER 2 ORANGE") and "Not acknowledged yet: reminder 2." in text
    assert "REMINDER 2" in render_html(reminder) and "Not acknowledged yet: reminder 2." in render_html(reminder)
    assert "REMINDER" not in render_text(make_payload())
