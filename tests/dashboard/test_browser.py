"""End to end in headless Chromium: a real server on loopback, a real browser, real map tiles.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skipped without.
Screenshots go to ``$GEOWARN_SCREENSHOTS`` (the README's are in ``docs/screenshots``) or a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import geowarn
from geowarn.dashboard.app import create_app
from tests.dashboard.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="needs chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver)",
    ),
]
WAIT_S = 30.0
#: Click an SVG path at the middle of its length (its bounding box's centre may lie off the line).
CLICK_ON_LINE = """
const path = arguments[0], pt = path.getPointAtLength(path.getTotalLength() / 2), m = path.getScreenCTM();
const x = m.a * pt.x + m.c * pt.y + m.e, y = m.b * pt.x + m.d * pt.y + m.f;
path.dispatchEvent(new MouseEvent("click", {bubbles: true, clientX: x, clientY: y}));
"""


@pytest.fixture(scope="module")
def server(workspace: geowarn.Workspace) -> Iterator[str]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(workspace), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("GEOWARN_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _wait(driver, condition, what: str):  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(condition, message=what)


def _sign_in(driver, base: str, name: str, path: str = "/") -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.get(base + path)
    assert "/login" in driver.current_url
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    _wait(driver, lambda d: "/login" not in d.current_url, "sign-in to go through")


def _map_ready(driver) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, "map")
    _wait(driver, lambda d: element.get_attribute("data-ready") == "true", "the map to load its layers")
    return {
        k: element.get_attribute(f"data-{k}") or ""
        for k in ("cracks", "compare", "review", "sites", "error", "tiles-loaded")
    }


def test_a_new_user_signs_in_and_sees_the_site_red_with_its_crack(  # type: ignore[no-untyped-def]
    server: str, browser, workspace: geowarn.Workspace, shots: Path
) -> None:
    from selenium.webdriver.common.by import By

    workspace.add_user("newcomer", "viewer", PASSWORD)
    _sign_in(browser, server, "newcomer")
    overview = _map_ready(browser)
    assert overview["sites"] == "1" and not overview["error"]
    assert "RED" in browser.find_element(By.ID, "sites").text
    browser.save_screenshot(str(shots / "sites.png"))

    browser.get(f"{server}/sites/slope-a?survey=3&compare=1")
    layers = _map_ready(browser)
    assert layers["cracks"] == "2" and layers["compare"] == "2" and not layers["error"]
    _wait(browser, lambda d: int(d.find_element(By.ID, "map").get_attribute("data-tiles-loaded") or 0) > 0, "tiles")
    tiles = browser.find_elements(By.CSS_SELECTOR, "img.leaflet-tile-loaded")
    assert tiles and all("/tiles/slope-a/3/ortho/" in t.get_attribute("src") for t in tiles)
    paths = browser.find_elements(By.CSS_SELECTOR, "path.leaflet-interactive")
    assert len(paths) == 4
    red = [p for p in paths if p.get_attribute("stroke") == "#c62828"]
    assert red, "the extending crack is drawn in the extending colour"
    assert layers["review"] == "1"  # loaded, but off until asked for in the layer control
    control = browser.find_element(By.CSS_SELECTOR, ".leaflet-control-layers")
    browser.execute_script("arguments[0].classList.add('leaflet-control-layers-expanded')", control)
    names = [e.get_attribute("textContent").strip() for e in control.find_elements(By.CSS_SELECTOR, "label span")]
    assert "for review: too wide, not confirmed" in names and "cracks" in names
    toggle = next(
        e for e in control.find_elements(By.CSS_SELECTOR, "label") if "for review" in e.get_attribute("textContent")
    )
    browser.execute_script("arguments[0].click()", toggle.find_element(By.TAG_NAME, "input"))
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "path.leaflet-interactive")) == 5, "the review layer")
    browser.execute_script(CLICK_ON_LINE, red[0])
    popup = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".leaflet-popup-content"), "the crack popup")
    text = popup.get_attribute("textContent")
    assert "extending" in text and "extension rate (mm/day)" in text and "±" in text
    browser.save_screenshot(str(shots / "site.png"))

    popup.find_element(By.TAG_NAME, "a").click()
    _wait(browser, lambda d: "/cracks/" in d.current_url, "the crack page")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".chart svg")) == 2
    assert "2026-05-15" in browser.find_element(By.ID, "history").text
    browser.save_screenshot(str(shots / "crack.png"))


def test_acknowledge_refused_for_a_viewer_and_done_by_a_geologist(  # type: ignore[no-untyped-def]
    server: str, browser, workspace: geowarn.Workspace, shots: Path
) -> None:
    from selenium.webdriver.common.by import By

    alert_id = next(a.id for a in workspace.alerts("slope-a") if a.level == "red")
    page = f"/sites/slope-a/alerts/{alert_id}"
    _sign_in(browser, server, "vic", page)
    assert browser.find_elements(By.ID, "ack-refused") and not browser.find_elements(By.ID, "ack-form")
    browser.find_element(By.CSS_SELECTOR, "form.who button").click()  # sign out
    _wait(browser, lambda d: "/login" in d.current_url, "sign-out")

    _sign_in(browser, server, "gina", page)
    browser.find_element(By.ID, "ack-note").send_keys("site visited, barriers placed")
    browser.find_element(By.ID, "ack-button").click()
    _wait(browser, lambda d: "acked=true" in d.current_url, "the acknowledgement")
    state = browser.find_element(By.ID, "ack-state").text
    assert "Acknowledged by gina" in state and "barriers placed" in state
    assert workspace.alert(alert_id).info.acked_by == "gina"
    browser.save_screenshot(str(shots / "alert.png"))


def test_logged_out_requests_and_traversal_are_refused(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    browser.get(f"{server}/login")
    fetch = "return fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.status);"
    assert browser.execute_script(fetch, "/api/sites.geojson") == 401
    assert browser.execute_script(fetch, "/tiles/slope-a/3/ortho/22/2271915/1476040.png") == 401
    _sign_in(browser, server, "ada")
    for path in ("/tiles/..%2F..%2Fetc%2Fpasswd/1/ortho/0/0/0.png", "/static/%2e%2e/%2e%2e/etc/passwd"):
        assert browser.execute_script(fetch, path) == 404, path
