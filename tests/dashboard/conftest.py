"""A monitored workspace (two sites, three surveys, a red alert), its users, and the dashboard over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import rasterio
from fastapi.testclient import TestClient

import geowarn
from geowarn.dashboard.app import create_app
from tests.conftest import make_toy_cascade
from tests.pipeline.conftest import write_scene
from tests.pipeline.test_monitor import D1, D2, D3, LENGTHS, OFFSETS, STABLE, main_crack

PASSWORD = "correct horse battery"
#: name -> (role, sites it may see; None: all)
USERS = {
    "ada": ("admin", None),
    "gina": ("geologist", None),
    "vic": ("viewer", None),
    "otto": ("geologist", ["slope-b"]),
}


def with_shade_band(path: Path) -> Path:
    """``path`` with a dark band 0.40 m wide and 2 m long: a feature kept for review, not a crack."""
    with rasterio.open(path, "r+") as dst:
        image = dst.read()
        image[:, 440:480, 100:300] = 22
        dst.write(image)
    return path


@pytest.fixture(scope="session")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace folder: ``slope-a`` monitored over three surveys (green, yellow, red) and an empty ``slope-b``."""
    root = tmp_path_factory.mktemp("dashboard")
    home = root / "home"
    config = root / "site.yaml"
    config.write_text("dashboard_url: http://127.0.0.1:8000\n")
    with geowarn.Workspace(home) as ws:
        ws.add_site("slope-a", "Slope A", config=config)
        ws.add_site("slope-b", "Slope B")
        for i, (length, offset, day) in enumerate(zip(LENGTHS, OFFSETS, (D1, D2, D3), strict=True)):
            path = with_shade_band(write_scene(root / f"s{i + 1}.tif", [main_crack(length), STABLE], offset=offset))
            ws.add_survey("slope-a", path, day)
        report = ws.monitor(today=D3, cascade=make_toy_cascade())
        assert report.ok and [s.level for s in report.surveys] == ["green", "yellow", "red"]
        for name, (role, sites) in USERS.items():
            ws.add_user(name, role, PASSWORD, sites=sites)
    return home


@pytest.fixture(scope="session")
def workspace(monitored: Path) -> Iterator[geowarn.Workspace]:
    with geowarn.Workspace(monitored) as ws:
        yield ws


@pytest.fixture
def client(workspace: geowarn.Workspace) -> TestClient:
    return TestClient(create_app(workspace), follow_redirects=False)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    reply = client.post("/login", data={"username": name, "password": password, "csrf_token": token, "next": "/"})
    assert reply.status_code == 303, reply.text
    return client


def csrf(client: TestClient, path: str = "/") -> str:
    return client.get(path).text.split('name="csrf_token" value="')[1].split('"')[0]
