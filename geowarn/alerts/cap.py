"""CAP 1.2 (OASIS Common Alerting Protocol) messages for an alert.

Element order follows the CAP 1.2 XML schema. Level mapping (``<responseType>``, ``<urgency>``,
``<severity>``, ``<certainty>``):

=======  ============  ==========  ========  =========
level    responseType  urgency     severity  certainty
=======  ============  ==========  ========  =========
yellow   Monitor       Future      Minor     Possible
orange   Prepare       Expected    Moderate  Likely
red      Avoid         Immediate   Severe    Likely
green    AllClear      Past        Minor     Observed
nodata   Assess        Unknown     Unknown   Unknown
=======  ============  ==========  ========  =========

``msgType`` is ``Update`` with ``<references>`` when the payload names the previous alert
(``previous_alert_id`` and ``previous_issued_at``) and that alert was yellow, orange or red; otherwise
``Alert``. The message is a pure function of the payload, so rebuilding it gives identical bytes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Literal

from geowarn.alerts.payload import LEVEL_RANK, AlertPayload
from geowarn.alerts.render import render_text
from geowarn.errors import ConfigError
from geowarn.tracking.change import EXTENDING, NEW, OPENING, SHRINKING, STABLE

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_CONTENT_TYPE = "application/cap+xml"

#: level -> (responseType, urgency, severity, certainty)
CAP_LEVEL_MAPPING: dict[str, tuple[str, str, str, str]] = {
    "yellow": ("Monitor", "Future", "Minor", "Possible"),
    "orange": ("Prepare", "Expected", "Moderate", "Likely"),
    "red": ("Avoid", "Immediate", "Severe", "Likely"),
    "green": ("AllClear", "Past", "Minor", "Observed"),
    "nodata": ("Assess", "Unknown", "Unknown", "Unknown"),
}

#: Default ``<instruction>`` per level (override with ``build_cap(..., instruction=...)``).
DEFAULT_INSTRUCTIONS: dict[str, str] = {
    "yellow": "Review the crack measurements and the evidence map; plan a follow-up survey.",
    "orange": "Inspect the site, survey more often and prepare to restrict access below the cracks.",
    "red": "Keep people out of the area below the cracks and follow the site emergency plan.",
    "green": "Crack growth is within measurement uncertainty; continue routine monitoring.",
    "nodata": "The latest survey could not be evaluated; check the data and repeat the survey.",
}

#: ``geowarn:<name>Cracks`` parameters: the cracks of each change class (``geowarn.tracking.change``).
CAP_CHANGE_NAMES: dict[str, str] = {
    EXTENDING: "extending",
    OPENING: "opening",
    NEW: "new",
    SHRINKING: "shrinkingOrPartlyLost",
    STABLE: "stable",
}

_SENDER_FORBIDDEN = re.compile(r"[\s,<&]")


def cap_datetime(value: datetime) -> str:
    """CAP date-time: seconds precision, numeric offset, UTC written ``-00:00`` as CAP 1.2 requires."""
    text = value.astimezone(UTC).replace(microsecond=0).isoformat()
    return text.replace("+00:00", "-00:00")


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{CAP_NAMESPACE}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _polygon(bbox: tuple[float, float, float, float]) -> str:
    lon0, lat0, lon1, lat1 = bbox
    corners = [(lat0, lon0), (lat0, lon1), (lat1, lon1), (lat1, lon0), (lat0, lon0)]
    return " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in corners)


def _parameters(payload: AlertPayload) -> list[tuple[str, str]]:
    params = [
        ("geowarn:level", payload.level),
        ("geowarn:previousLevel", payload.previous_level),
        ("geowarn:siteId", payload.site_id),
        ("geowarn:alertId", str(payload.alert_id)),
        ("geowarn:surveyId", str(payload.survey_id)),
        ("geowarn:surveyDate", payload.survey_date.isoformat()),
    ]
    counts = payload.change_counts()
    params += [(f"geowarn:{name}Cracks", str(counts.get(change, 0))) for change, name in CAP_CHANGE_NAMES.items()]
    if payload.previous_survey_date is not None:
        params.append(("geowarn:previousSurveyDate", payload.previous_survey_date.isoformat()))
    rates = [c.extension_rate_mm_day for c in payload.growing_cracks if c.extension_rate_mm_day is not None]
    if rates:
        params.append(("geowarn:maxExtensionRateMmPerDay", f"{max(rates):.1f}"))
    openings = [c.opening_rate_mm_day for c in payload.growing_cracks if c.opening_rate_mm_day is not None]
    if openings:
        params.append(("geowarn:maxOpeningRateMmPerDay", f"{max(openings):.1f}"))
    if payload.time_of_failure is not None:
        params.append(("geowarn:timeOfFailure", payload.time_of_failure.isoformat()))
        if payload.time_of_failure_low is not None and payload.time_of_failure_high is not None:
            window = f"{payload.time_of_failure_low.isoformat()}/{payload.time_of_failure_high.isoformat()}"
            params.append(("geowarn:timeOfFailureWindow", window))
    params.append(("geowarn:requiresAck", "true" if payload.requires_ack else "false"))
    params.append(("geowarn:modelVersion", payload.model_version))
    return params


def build_cap(
    payload: AlertPayload,
    sender: str,
    *,
    status: Literal["Actual", "Exercise", "System", "Test", "Draft"] = "Actual",
    instruction: str | None = None,
    map_png: bytes | None = None,
    language: str = "en",
) -> bytes:
    """CAP 1.2 ``<alert>`` for ``payload`` as UTF-8 XML.

    Args:
        payload: the alert.
        sender: CAP sender id, e.g. ``geowarn@example.org`` (no spaces, commas, ``<`` or ``&``).
        status: CAP status; ``Exercise``/``Test`` for drills.
        instruction: recommended action; defaults to :data:`DEFAULT_INSTRUCTIONS` for the level.
        map_png: evidence map, embedded as a ``<resource>`` with ``<derefUri>`` when given.
        language: RFC 3066 language of the texts.

    Raises:
        ConfigError: when ``sender`` contains characters CAP forbids.

    """
    if not sender or _SENDER_FORBIDDEN.search(sender):
        raise ConfigError(
            f"CAP sender {sender!r} is empty or contains spaces, commas, '<' or '&'; use e.g. geowarn@example.org"
        )
    response, urgency, severity, certainty = CAP_LEVEL_MAPPING[payload.level]
    alert = ET.Element(f"{{{CAP_NAMESPACE}}}alert")
    _sub(alert, "identifier", payload.cap_identifier())
    _sub(alert, "sender", sender)
    _sub(alert, "sent", cap_datetime(payload.issued_at))
    _sub(alert, "status", status)
    updates = (
        payload.previous_alert_id is not None
        and payload.previous_issued_at is not None
        and LEVEL_RANK.get(payload.previous_level, 0) > 0
    )
    _sub(alert, "msgType", "Update" if updates else "Alert")
    _sub(alert, "source", payload.model_version)
    _sub(alert, "scope", "Public")
    if updates and payload.previous_issued_at is not None:
        previous = f"geowarn-alert-{payload.site_id}-{payload.previous_alert_id}"
        _sub(alert, "references", f"{sender},{previous},{cap_datetime(payload.previous_issued_at)}")

    info = _sub(alert, "info")
    _sub(info, "language", language)
    _sub(info, "category", "Geo")
    _sub(info, "event", "Landslide – ground cracking")
    _sub(info, "responseType", response)
    _sub(info, "urgency", urgency)
    _sub(info, "severity", severity)
    _sub(info, "certainty", certainty)
    _sub(info, "effective", cap_datetime(payload.issued_at))
    _sub(info, "senderName", f"geowarn – {payload.site_name}")
    headline = f"{payload.level.upper()} landslide warning – {payload.site_name}: {payload.summary()}"
    _sub(info, "headline", headline if len(headline) <= 160 else headline[:157] + "...")
    _sub(info, "description", render_text(payload))
    _sub(info, "instruction", instruction or DEFAULT_INSTRUCTIONS[payload.level])
    if payload.dashboard_url:
        _sub(info, "web", payload.dashboard_url)
    for name, value in _parameters(payload):
        parameter = _sub(info, "parameter")
        _sub(parameter, "valueName", name)
        _sub(parameter, "value", value)
    if map_png is not None:
        resource = _sub(info, "resource")
        _sub(resource, "resourceDesc", "evidence map: previous and current crack outlines")
        _sub(resource, "mimeType", "image/png")
        _sub(resource, "size", str(len(map_png)))
        _sub(resource, "derefUri", base64.b64encode(map_png).decode("ascii"))
        _sub(resource, "digest", hashlib.sha1(map_png, usedforsecurity=False).hexdigest())
    area = _sub(info, "area")
    _sub(area, "areaDesc", f"{payload.site_name} ({payload.site_id}): ground cracks")
    if payload.area_wgs84 is not None:
        lon0, lat0, lon1, lat1 = payload.area_wgs84
        if lon0 == lon1 or lat0 == lat1:  # a point or a line: CAP polygons need an area
            _sub(area, "circle", f"{(lat0 + lat1) / 2:.6f},{(lon0 + lon1) / 2:.6f} 0.1")
        else:
            _sub(area, "polygon", _polygon(payload.area_wgs84))
    return bytes(ET.tostring(alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NAMESPACE))
