from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from geowarn.alerts.payload import AlertPayload, bbox_wgs84, union_bounds

MakePayload = Callable[..., AlertPayload]


def test_json_round_trip_is_exact(make_payload: MakePayload) -> None:
    payload = make_payload()
    stored = json.dumps(payload.model_dump(mode="json"))
    rebuilt = AlertPayload.model_validate(json.loads(stored))
    assert rebuilt == payload
    assert isinstance(rebuilt.area_wgs84, tuple)
    assert rebuilt.issued_at.tzinfo is not None


def test_frozen_and_extra_keys_rejected(make_payload: MakePayload) -> None:
    payload = make_payload()
    with pytest.raises(ValidationError):
        payload.level = "red"  # type: ignore[misc]
    data: dict[str, Any] = payload.model_dump(mode="json")
    data["unexpected"] = 1
    with pytest.raises(ValidationError, match="unexpected"):
        AlertPayload.model_validate(data)


def test_issued_at_must_be_aware_and_is_stored_in_utc(make_payload: MakePayload) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        make_payload(issued_at=datetime(2024, 5, 3, 12, 0))
    payload = make_payload(issued_at=datetime(2024, 5, 3, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    assert payload.issued_at == datetime(2024, 5, 3, 12, 0, tzinfo=UTC)
    assert payload.issued_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("site_id", "north slope"),
        ("site_name", "North\nBcc: someone@example.org"),
        ("dashboard_url", "javascript:alert(1)"),
        ("area_wgs84", (15.0, 47.0, 14.0, 48.0)),
        ("previous_survey_date", date(2024, 6, 1)),
        ("time_of_failure_low", date(2024, 6, 30)),
        ("new_crack_count", -1),
    ],
)
def test_invalid_values_rejected(make_payload: MakePayload, field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        make_payload(**{field: value})


def test_nan_rejected(make_payload: MakePayload, make_crack: Callable[..., Any]) -> None:
    with pytest.raises(ValidationError):
        make_payload(cracks=[make_crack(length_m=float("nan"))])


def test_idempotency_key_is_stable_and_distinct(make_payload: MakePayload) -> None:
    payload = make_payload()
    key = payload.idempotency_key("ops-mail", "geo@example.org")
    assert key == make_payload().idempotency_key("ops-mail", " geo@example.org ")
    assert key.startswith("geowarn-alert-north-slope-42-ops-mail-")
    assert len(key.rsplit("-", 1)[1]) == 12
    others = {
        payload.idempotency_key("sms", "geo@example.org"),
        payload.idempotency_key("ops-mail", "other@example.org"),
        make_payload(alert_id=43).idempotency_key("ops-mail", "geo@example.org"),
        payload.as_reminder(1).idempotency_key("ops-mail", "geo@example.org"),
        payload.as_reminder(2).idempotency_key("ops-mail", "geo@example.org"),
    }
    assert key not in others and len(others) == 5


def test_subject(make_payload: MakePayload) -> None:
    assert make_payload().subject() == "[geowarn] ORANGE – North slope: 1 crack extending, 1 new (up from YELLOW)"
    assert make_payload(previous_level="orange").subject() == "[geowarn] ORANGE – North slope: 1 crack extending, 1 new"
    assert make_payload(level="green", previous_level="red").subject() == (
        "[geowarn] GREEN – North slope: all clear (down from RED)"
    )
    assert "no usable survey data" in make_payload(level="nodata").subject()
    assert make_payload().as_reminder(3).subject() == (
        "[geowarn] REMINDER 3, not acknowledged: ORANGE – North slope: 1 crack extending, 1 new (up from YELLOW)"
    )


def test_key_crack_is_fastest_significant(make_payload: MakePayload, make_crack: Callable[..., Any]) -> None:
    cracks = [make_crack(1, extension_rate_mm_day=5.0), make_crack(2, extension_rate_mm_day=50.0, significant=False)]
    cracks.append(make_crack(3, extension_rate_mm_day=12.0))
    payload = make_payload(cracks=cracks)
    key = payload.key_crack()
    assert key is not None and key.track_id == 3
    assert make_payload(cracks=[]).key_crack() is None


def test_bbox_wgs84_from_utm() -> None:
    lon0, lat0, lon1, lat1 = bbox_wgs84((500000.0, 5200000.0, 500100.0, 5200050.0), "EPSG:32633")
    assert 14.99 < lon0 < lon1 < 15.01
    assert 46.9 < lat0 < lat1 < 47.0
    assert union_bounds([(0, 0, 1, 1), (2, -1, 3, 0.5)]) == (0, -1, 3, 1)
    assert union_bounds([]) is None


def test_shorter_mappings_are_never_counted_as_growth(make_payload: MakePayload) -> None:
    """The demo's red alert: one crack extending, two mapped shorter; it reads as one growing crack."""
    from tests.alerts.conftest import crack

    lost = {"extension_rate_mm_day": 0.0, "extension_rate_unc_mm_day": 10.3, "opening_rate_mm_day": -2.4}
    payload = make_payload(
        cracks=[
            crack(11, change="extending"),
            crack(2, delta_length_m=-0.618, delta_length_unc_m=0.176, change="shrinking or partly lost", **lost),
            crack(3, delta_length_m=-0.414, delta_length_unc_m=0.176, **lost),  # stored before `change` existed
        ],
        new_crack_count=3,
    )
    assert [c.change_class for c in payload.cracks] == ["extending", *["shrinking or partly lost"] * 2]
    assert payload.summary() == "1 crack extending, 3 new, 2 shrinking or partly lost"
    assert [c.track_id for c in payload.growing_cracks] == [11]
