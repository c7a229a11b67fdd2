"""Dashboard accounts: argon2 hashes, checked names, roles and site lists, sessions that end with the user."""

from __future__ import annotations

from pathlib import Path

import pytest

import geowarn
from geowarn.dashboard.sessions import LoginThrottle, end_session, find_session, start_session
from geowarn.store.users import authenticate


@pytest.fixture
def ws(tmp_path: Path) -> geowarn.Workspace:
    workspace = geowarn.Workspace(tmp_path / "home")
    workspace.add_site("north-slope")
    return workspace


def test_add_list_authenticate_remove(ws: geowarn.Workspace) -> None:
    added = ws.add_user("j.doe", "geologist", "a long enough password")
    assert added.generated_password is None and added.user.role == "geologist" and added.user.sites is None
    store = ws._dir.store
    user = authenticate(store, "j.doe", "a long enough password")
    assert user is not None and user.may_acknowledge and user.may_see("anything")
    assert authenticate(store, "j.doe", "wrong password!") is None
    assert authenticate(store, "nobody", "a long enough password") is None
    with store.engine.connect() as conn:
        (digest,) = conn.exec_driver_sql("SELECT password_hash FROM users").one()
    assert digest.startswith("$argon2id$") and "long enough" not in digest
    assert [u.username for u in ws.users()] == ["j.doe"] and ws.users()[0].last_login is not None

    token = start_session(store, user)
    signed = find_session(store, token)
    assert signed is not None and signed.user.username == "j.doe" and len(signed.csrf_token) >= 32
    assert "removed" in ws.remove_user("j.doe")
    assert find_session(store, token) is None and ws.users() == []
    ws.close()


def test_a_generated_password_and_a_site_list(ws: geowarn.Workspace) -> None:
    added = ws.add_user("viewer1", sites=["north-slope"])
    assert added.generated_password and len(added.generated_password) >= 16
    user = authenticate(ws._dir.store, "viewer1", added.generated_password)
    assert user is not None and user.role == "viewer" and not user.may_acknowledge
    assert user.may_see("north-slope") and not user.may_see("south-slope")
    ws.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "bad name"}, "user name 'bad name': use 1-64 letters"),
        ({"username": "x", "role": "root"}, "role 'root': not a role; use one of viewer, geologist, admin"),
        ({"username": "x", "password": "short"}, "password (***, 5 characters): too short"),
        ({"username": "x", "sites": ["North Slope"]}, "site id 'North Slope': not a slug"),
        ({"username": "x", "sites": []}, "sites: an empty list would let the user see nothing"),
    ],
)
def test_bad_input_is_refused_with_field_value_and_fix(
    ws: geowarn.Workspace, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(geowarn.ConfigError) as caught:
        ws.add_user(**kwargs)  # type: ignore[arg-type]
    assert message in str(caught.value)
    ws.close()


def test_a_name_is_taken_once_and_removing_nobody_says_so(ws: geowarn.Workspace) -> None:
    ws.add_user("ann", password="a long enough password")
    with pytest.raises(geowarn.ConfigError, match="user 'ann' exists already"):
        ws.add_user("ann", password="another long password")
    with pytest.raises(geowarn.ConfigError, match="user 'bob' does not exist; list them with: geowarn users list"):
        ws.remove_user("bob")
    ws.close()


def test_sign_out_ends_the_session(ws: geowarn.Workspace) -> None:
    ws.add_user("ann", password="a long enough password")
    user = authenticate(ws._dir.store, "ann", "a long enough password")
    assert user is not None
    token = start_session(ws._dir.store, user)
    end_session(ws._dir.store, token)
    assert find_session(ws._dir.store, token) is None and find_session(ws._dir.store, "x" * 500) is None
    ws.close()


def test_throttle_counts_per_address_and_per_name() -> None:
    throttle = LoginThrottle(attempts=2, window_s=60)
    throttle.failed("1.2.3.4", "ann")
    assert throttle.retry_after("1.2.3.4", "ann") == 0
    throttle.failed("5.6.7.8", "ann")
    assert throttle.retry_after("9.9.9.9", "ANN") > 0  # the name, from anywhere
    throttle.succeeded("1.2.3.4", "ann")
    assert throttle.retry_after("9.9.9.9", "ann") == 0
    throttle.failed("1.2.3.4", "bob")
    assert throttle.retry_after("1.2.3.4", "carl") > 0  # the address, for any name
