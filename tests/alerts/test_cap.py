from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from geowarn.alerts.cap import CAP_LEVEL_MAPPING, CAP_NAMESPACE, build_cap, cap_datetime
from geowarn.alerts.payload import AlertPayload
from geowarn.errors import ConfigError

MakePayload = Callable[..., AlertPayload]
NS = {"cap": CAP_NAMESPACE}

# Element sequences of the CAP 1.2 XML schema (name, min occurs).
ALERT_SEQUENCE = [
    ("identifier", 1), ("sender", 1), ("sent", 1), ("status", 1), ("msgType", 1), ("source", 0), ("scope", 1),
    ("restriction", 0), ("addresses", 0), ("code", 0), ("note", 0), ("references", 0), ("incidents", 0), ("info", 0),
]  # fmt: skip
INFO_SEQUENCE = [
    ("language", 0), ("category", 1), ("event", 1), ("responseType", 0), ("urgency", 1), ("severity", 1),
    ("certainty", 1), ("audience", 0), ("eventCode", 0), ("effective", 0), ("onset", 0), ("expires", 0),
    ("senderName", 0), ("headline", 0), ("description", 0), ("instruction", 0), ("web", 0), ("contact", 0),
    ("parameter", 0), ("resource", 0), ("area", 0),
]  # fmt: skip
RESOURCE_SEQUENCE = [("resourceDesc", 1), ("mimeType", 1), ("size", 0), ("uri", 0), ("derefUri", 0), ("digest", 0)]
AREA_SEQUENCE = [("areaDesc", 1), ("polygon", 0), ("circle", 0), ("geocode", 0), ("altitude", 0), ("ceiling", 0)]
CAP_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")


def local(tag: str) -> str:
    assert tag.startswith(f"{{{CAP_NAMESPACE}}}"), tag
    return tag.split("}", 1)[1]


def check_sequence(element: ET.Element, sequence: list[tuple[str, int]]) -> None:
    """Children follow the schema order, required ones present, nothing unknown."""
    names = [local(child.tag) for child in element]
    order = [name for name, _ in sequence]
    assert set(names) <= set(order), f"unknown elements {set(names) - set(order)}"
    positions = [order.index(n) for n in names]
    assert positions == sorted(positions), f"out of schema order: {names}"
    for name, minimum in sequence:
        assert names.count(name) >= minimum, f"missing {name}"


def parse(xml: bytes) -> ET.Element:
    assert xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(xml)
    assert root.tag == f"{{{CAP_NAMESPACE}}}alert"
    check_sequence(root, ALERT_SEQUENCE)
    for info in root.findall("cap:info", NS):
        check_sequence(info, INFO_SEQUENCE)
        for resource in info.findall("cap:resource", NS):
            check_sequence(resource, RESOURCE_SEQUENCE)
        for area in info.findall("cap:area", NS):
            check_sequence(area, AREA_SEQUENCE)
        for parameter in info.findall("cap:parameter", NS):
            assert [local(c.tag) for c in parameter] == ["valueName", "value"]
    return root


def text(root: ET.Element, path: str) -> str:
    found = root.find(path, NS)
    assert found is not None, path
    return found.text or ""


def test_cap_alert_parses_back(make_payload: MakePayload) -> None:
    payload = make_payload()
    root = parse(build_cap(payload, "geowarn@example.org"))
    assert text(root, "cap:identifier") == "geowarn-alert-north-slope-42"
    assert text(root, "cap:sender") == "geowarn@example.org"
    assert text(root, "cap:sent") == "2024-05-03T12:30:15-00:00"
    assert CAP_DATETIME.match(text(root, "cap:sent"))
    assert text(root, "cap:status") == "Actual"
    assert text(root, "cap:msgType") == "Alert"
    assert text(root, "cap:scope") == "Public"
    assert root.find("cap:references", NS) is None
    info = root.find("cap:info", NS)
    assert info is not None
    assert text(info, "cap:category") == "Geo"
    assert text(info, "cap:event") == "Landslide – ground cracking"
    assert (text(info, "cap:urgency"), text(info, "cap:severity"), text(info, "cap:certainty")) == (
        "Expected",
        "Moderate",
        "Likely",
    )
    assert len(text(info, "cap:headline")) <= 160
    assert "Δlength +0.312 ± 0.021 m" in text(info, "cap:description")
    assert text(info, "cap:web") == payload.dashboard_url
    params = {text(p, "cap:valueName"): text(p, "cap:value") for p in info.findall("cap:parameter", NS)}
    assert params["geowarn:level"] == "orange"
    assert params["geowarn:maxExtensionRateMmPerDay"] == "31.2"
    assert params["geowarn:timeOfFailureWindow"] == "2024-05-15/2024-05-29"
    polygon = text(info, "cap:area/cap:polygon").split()
    assert polygon[0] == polygon[-1] and len(polygon) == 5
    lat, lon = map(float, polygon[2].split(","))
    assert (lat, lon) == (46.9012, 15.001)


@pytest.mark.parametrize("level", ["yellow", "orange", "red", "green", "nodata"])
def test_level_mapping(make_payload: MakePayload, level: str) -> None:
    root = parse(build_cap(make_payload(level=level, previous_level="nodata"), "geowarn@example.org"))
    response, urgency, severity, certainty = CAP_LEVEL_MAPPING[level]
    assert text(root, "cap:info/cap:responseType") == response
    assert text(root, "cap:info/cap:urgency") == urgency
    assert text(root, "cap:info/cap:severity") == severity
    assert text(root, "cap:info/cap:certainty") == certainty
    assert text(root, "cap:info/cap:instruction")


def test_all_clear_updates_previous_alert(make_payload: MakePayload) -> None:
    previous_sent = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    payload = make_payload(
        level="green", previous_level="orange", previous_alert_id=41, previous_issued_at=previous_sent
    )
    root = parse(build_cap(payload, "geowarn@example.org"))
    assert text(root, "cap:msgType") == "Update"
    assert text(root, "cap:references") == "geowarn@example.org,geowarn-alert-north-slope-41,2024-05-01T08:00:00-00:00"
    assert text(root, "cap:info/cap:responseType") == "AllClear"


def test_resource_point_area_and_determinism(make_payload: MakePayload) -> None:
    payload = make_payload(area_wgs84=(15.0, 46.9, 15.0, 46.9))
    xml = build_cap(payload, "geowarn@example.org", status="Exercise", map_png=b"\x89PNG fake")
    assert xml == build_cap(payload, "geowarn@example.org", status="Exercise", map_png=b"\x89PNG fake")
    root = parse(xml)
    assert text(root, "cap:status") == "Exercise"
    assert base64.b64decode(text(root, "cap:info/cap:resource/cap:derefUri")) == b"\x89PNG fake"
    assert text(root, "cap:info/cap:area/cap:circle") == "46.900000,15.000000 0.1"
    no_area = parse(build_cap(make_payload(area_wgs84=None, dashboard_url=None), "geowarn@example.org"))
    assert no_area.find("cap:info/cap:area/cap:polygon", NS) is None
    assert no_area.find("cap:info/cap:web", NS) is None


def test_bad_sender_rejected(make_payload: MakePayload) -> None:
    with pytest.raises(ConfigError, match="sender"):
        build_cap(make_payload(), "geo warn")


def test_cap_datetime_offsets() -> None:
    assert cap_datetime(datetime(2024, 1, 2, 3, 4, 5, 999, tzinfo=UTC)) == "2024-01-02T03:04:05-00:00"
