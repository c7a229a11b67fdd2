"""Fixtures for the alert tests: a sample payload and a loopback HTTP server that records requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from geowarn.alerts.payload import AlertPayload, CrackEvidence


def crack(track_id: int = 12, **overrides: Any) -> CrackEvidence:
    values: dict[str, Any] = {
        "track_id": track_id,
        "length_m": 3.412,
        "length_unc_m": 0.020,
        "mean_width_m": 0.021,
        "max_width_m": 0.045,
        "width_unc_m": 0.004,
        "delta_length_m": 0.312,
        "delta_length_unc_m": 0.021,
        "delta_max_width_m": 0.004,
        "delta_width_unc_m": 0.003,
        "extension_rate_mm_day": 31.2,
        "extension_rate_unc_mm_day": 2.1,
        "opening_rate_mm_day": 2.0,
        "opening_rate_unc_mm_day": 1.5,
        "significant": True,
        "centroid_x": 500001.0,
        "centroid_y": 5199999.0,
    }
    values.update(overrides)
    return CrackEvidence(**values)


@pytest.fixture
def make_payload() -> Callable[..., AlertPayload]:
    """Factory of a realistic orange alert; keyword arguments override fields."""

    def factory(**overrides: Any) -> AlertPayload:
        values: dict[str, Any] = {
            "alert_id": 42,
            "site_id": "north-slope",
            "site_name": "North slope",
            "level": "orange",
            "previous_level": "yellow",
            "reasons": ["crack 12 extends 31 ± 4 mm/day (orange ≥ 20 mm/day) in 2 surveys"],
            "cracks": [
                crack(12),
                crack(
                    14,
                    delta_length_m=0.004,
                    extension_rate_mm_day=0.4,
                    opening_rate_mm_day=0.1,
                    significant=False,
                    centroid_x=500002.5,
                ),
                crack(
                    20,
                    delta_length_m=None,
                    delta_length_unc_m=None,
                    delta_max_width_m=None,
                    delta_width_unc_m=None,
                    extension_rate_mm_day=None,
                    extension_rate_unc_mm_day=None,
                    opening_rate_mm_day=None,
                    opening_rate_unc_mm_day=None,
                    significant=False,
                ),
            ],
            "new_crack_count": 1,
            "survey_date": date(2024, 5, 3),
            "previous_survey_date": date(2024, 5, 1),
            "survey_id": 7,
            "issued_at": datetime(2024, 5, 3, 12, 30, 15, 123456, tzinfo=UTC),
            "requires_ack": True,
            "time_of_failure": date(2024, 5, 20),
            "time_of_failure_low": date(2024, 5, 15),
            "time_of_failure_high": date(2024, 5, 29),
            "model_version": "geowarn 0.1.0; tilecls-s 83aa2534; unet-s e30313d9",
            "dashboard_url": "https://dash.example/sites/north-slope/alerts/42",
            "crs": "EPSG:32633",
            "area_wgs84": (15.0, 46.9, 15.001, 46.9012),
        }
        values.update(overrides)
        return AlertPayload(**values)

    return factory


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@dataclass
class LoopbackServer:
    """Answers every request with ``responses`` in turn (the last one repeats), after ``delay_s``."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    responses: list[tuple[int, dict[str, str], bytes]] = field(default_factory=lambda: [(200, {}, b"{}")])
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reply(self, status: int, body: bytes | dict[str, Any] = b"{}", **headers: str) -> None:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        self.responses = [(status, {"Content-Type": "application/json", **headers}, data)]


@contextmanager
def loopback_server() -> Iterator[LoopbackServer]:
    """ThreadingHTTPServer on 127.0.0.1 in a thread; records method, path, headers and body."""
    state = LoopbackServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if state.delay_s:
                time.sleep(state.delay_s)
            with state.lock:
                state.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
                count = len(state.requests)
            status, headers, data = state.responses[min(count - 1, len(state.responses) - 1)]
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_PUT = do_GET = _handle  # noqa: N815 (http.server's names)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """A :func:`loopback_server` for one test, with proxies unset."""
    for var in PROXY_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    with loopback_server() as state:
        yield state


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def make_crack() -> Callable[..., CrackEvidence]:
    """Factory of a significant, growing crack; keyword arguments override fields."""
    return crack
