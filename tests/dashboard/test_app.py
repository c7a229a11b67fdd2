"""The dashboard's pages and data routes through FastAPI's test client: login, rights, CSRF, acknowledgement."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import geowarn
from geowarn.dashboard.app import create_app
from geowarn.dashboard.sessions import LoginThrottle
from tests.dashboard.conftest import csrf, sign_in

#: A z/x/y tile over the synthetic site (15.00003 E, 46.95351 N).
TILE = "22/2271915/1476040"


def _red_alert(ws: geowarn.Workspace) -> int:
    return next(a.id for a in ws.alerts("slope-a") if a.level == "red")


def test_pages_and_map_data_for_a_signed_in_user(client: TestClient) -> None:
    sign_in(client, "vic")
    overview = client.get("/")
    assert overview.status_code == 200 and "slope-a" in overview.text and "RED" in overview.text
    sites = client.get("/api/sites.geojson").json()
    assert [f["properties"]["level"] for f in sites["features"]] == ["red"]  # slope-b has no survey to place it
    page = client.get("/sites/slope-a")
    assert page.status_code == 200 and "extending" in page.text and "/tiles/slope-a/3/ortho/" in page.text
    assert client.get("/sites/slope-a?survey=1&compare=&prob=true").status_code == 200
    cracks = client.get("/api/sites/slope-a/cracks.geojson").json()["features"]
    assert len(cracks) == 2
    main = next(c["properties"] for c in cracks if c["properties"]["change"] == "extending")
    assert main["extension_rate_mm_day"] > 0 and main["extension_rate_unc_mm_day"] > 0
    assert (main["first_seen"], main["last_seen"]) == ("2026-05-01", "2026-05-15")
    compare = client.get("/api/sites/slope-a/cracks.geojson?survey=1&shown_on=3").json()["features"]
    assert len(compare) == 2 and compare[0]["geometry"] != cracks[0]["geometry"]
    review = client.get("/api/sites/slope-a/review.geojson?survey=3").json()["features"]
    assert [f["properties"]["review"].split(":")[0] for f in review] == ["wider than a crack"]
    assert "Polygon" in review[0]["geometry"]["type"] and review[0]["properties"]["mean_width_m"] > 0.3
    assert client.get("/api/sites/slope-b/review.geojson").status_code == 404  # no survey there
    assert client.get("/api/sites/slope-a/review.geojson?survey=99").status_code == 404
    history = client.get(main["url"])
    assert history.status_code == 200 and history.text.count("<svg") == 2 and "2026-05-15" in history.text
    assert "evidence.png" in history.text


def test_tiles_come_from_the_survey_rasters(client: TestClient) -> None:
    sign_in(client, "vic")
    ortho = client.get(f"/tiles/slope-a/3/ortho/{TILE}.png")
    assert ortho.status_code == 200 and ortho.headers["content-type"] == "image/png" and len(ortho.content) > 2000
    probability = client.get(f"/tiles/slope-a/3/probability/{TILE}.png")
    assert probability.status_code == 200 and probability.content != ortho.content
    far = client.get("/tiles/slope-a/3/ortho/0/0/0.png")  # the whole world: an empty tile, not a huge read
    assert far.status_code == 200 and len(far.content) < 1000
    assert client.get(f"/tiles/slope-a/3/elsewhere/{TILE}.png").status_code == 404
    assert client.get(f"/tiles/slope-a/99/ortho/{TILE}.png").status_code == 404


def test_alerts_list_filter_downloads_and_the_dashboard_url(client: TestClient, workspace: geowarn.Workspace) -> None:
    sign_in(client, "vic")
    alert_id = _red_alert(workspace)
    url = workspace.alert(alert_id).payload["dashboard_url"]
    assert url == f"http://127.0.0.1:8000/sites/slope-a/alerts/{alert_id}"
    page = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200 and "Awaiting acknowledgement" in page.text and "may not acknowledge" in page.text
    listed = client.get("/alerts?level=yellow").text
    assert f'/alerts/{alert_id}"' not in listed and "YELLOW" in listed
    cap = client.get(f"/sites/slope-a/alerts/{alert_id}/cap.xml")
    assert cap.status_code == 200 and b"urn:oasis:names:tc:emergency:cap:1.2" in cap.content
    assert client.get(f"/sites/slope-a/alerts/{alert_id}/evidence.png").content.startswith(b"\x89PNG")
    gpkg = client.get("/sites/slope-a/surveys/3/cracks.gpkg")
    assert gpkg.status_code == 200 and gpkg.content.startswith(b"SQLite format 3")


def test_a_viewer_may_not_acknowledge_and_a_form_needs_its_csrf_token(
    client: TestClient, workspace: geowarn.Workspace
) -> None:
    alert_id = _red_alert(workspace)
    sign_in(client, "vic")
    token = csrf(client)
    refused = client.post(f"/sites/slope-a/alerts/{alert_id}/ack", data={"csrf_token": token, "note": "x"})
    assert refused.status_code == 403 and workspace.alert(alert_id).info.acked_by is None
    client.cookies.clear()
    sign_in(client, "gina")
    forged = client.post(f"/sites/slope-a/alerts/{alert_id}/ack", data={"csrf_token": "forged", "note": "x"})
    assert forged.status_code == 403 and workspace.alert(alert_id).info.acked_by is None


def test_rights_limit_a_user_to_its_sites(client: TestClient, workspace: geowarn.Workspace) -> None:
    sign_in(client, "otto")  # a geologist for slope-b only
    assert "slope-a" not in client.get("/").text and client.get("/api/sites.geojson").json()["features"] == []
    alert_id = _red_alert(workspace)
    for path in (
        "/sites/slope-a",
        "/api/sites/slope-a/cracks.geojson",
        f"/tiles/slope-a/3/ortho/{TILE}.png",
        f"/sites/slope-a/alerts/{alert_id}",
        f"/sites/slope-a/alerts/{alert_id}/cap.xml",
        "/sites/slope-a/surveys/3/cracks.gpkg",
        "/sites/slope-a/cracks/1",
    ):
        assert client.get(path).status_code == 404, path
    assert f"alerts/{alert_id}" not in client.get("/alerts?site=slope-a").text
    token = csrf(client)
    assert client.post(f"/sites/slope-a/alerts/{alert_id}/ack", data={"csrf_token": token}).status_code == 404
    assert client.get("/sites/slope-b").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/sites/slope-a",
        "/alerts",
        "/api/sites.geojson",
        "/api/sites/slope-a/cracks.geojson",
        f"/tiles/slope-a/3/ortho/{TILE}.png",
        "/sites/slope-a/alerts/1/cap.xml",
        "/sites/slope-a/surveys/3/cracks.gpkg",
    ],
)
def test_everything_needs_a_login(client: TestClient, path: str) -> None:
    reply = client.get(path)
    assert reply.status_code in (401, 303), reply.status_code
    if reply.status_code == 303:
        assert reply.headers["location"].startswith("/login?next=")
    else:
        assert reply.json() == {"error": "sign in first"}


def test_cookies_headers_and_sign_out(client: TestClient) -> None:
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    reply = client.post("/login", data={"username": "vic", "password": "correct horse battery", "csrf_token": token})
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf(client)}).status_code == 303
    assert client.get("/").status_code == 303


def test_secure_cookies_behind_tls(workspace: geowarn.Workspace) -> None:
    client = TestClient(create_app(workspace, secure_cookies=True), follow_redirects=False)
    assert "secure" in client.get("/login").headers["set-cookie"].lower()


def test_login_without_its_csrf_cookie_is_refused(client: TestClient) -> None:
    reply = client.post("/login", data={"username": "vic", "password": "correct horse battery", "csrf_token": "x"})
    assert reply.status_code == 403 and "session" not in reply.headers.get("set-cookie", "")


def test_sign_in_is_throttled(workspace: geowarn.Workspace) -> None:
    client = TestClient(create_app(workspace, throttle=LoginThrottle(attempts=2)), follow_redirects=False)
    codes = []
    for password in ("wrong password 1", "wrong password 2", "correct horse battery"):
        token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        data = {"username": "vic", "password": password, "csrf_token": token}
        codes.append(client.post("/login", data=data).status_code)
    assert codes == [401, 401, 429]


def test_next_never_leaves_the_site(client: TestClient) -> None:
    token = client.get("/login?next=//evil.example/x").text.split('name="csrf_token" value="')[1].split('"')[0]
    data = {"username": "vic", "password": "correct horse battery", "csrf_token": token, "next": "https://evil.example"}
    assert client.post("/login", data=data).headers["location"] == "/"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/sites/..%2F..%2Fetc/alerts/1/evidence.png",
        "/tiles/..%2F..%2Fetc%2Fpasswd/1/ortho/0/0/0.png",
        "/sites/slope-a/surveys/..%2F3/cracks.gpkg",
    ],
)
def test_no_path_traversal(client: TestClient, path: str) -> None:
    sign_in(client, "ada")
    reply = client.get(path)
    assert reply.status_code in (404, 422) and b"root:" not in reply.content


def test_errors_do_not_leak_tracebacks(workspace: geowarn.Workspace) -> None:
    app = create_app(workspace)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    client = TestClient(app, raise_server_exceptions=False)
    reply = client.get("/boom")
    assert reply.status_code == 500 and "secret internals" not in reply.text and "Traceback" not in reply.text


def test_a_geologist_acknowledges_with_a_comment(client: TestClient, workspace: geowarn.Workspace) -> None:
    alert_id = next(a.id for a in workspace.alerts("slope-a") if a.level == "yellow")
    sign_in(client, "gina")
    reply = client.post(
        f"/sites/slope-a/alerts/{alert_id}/ack", data={"csrf_token": csrf(client), "note": "checked on site"}
    )
    assert reply.status_code == 303 and reply.headers["location"].endswith("?acked=true")
    info = workspace.alert(alert_id)
    assert (info.info.acked_by, info.ack_note) == ("gina", "checked on site")
    assert "Acknowledged by <b>gina</b>" in client.get(reply.headers["location"]).text
