"""Secrets never reach a log line, an error, ``last_error`` or a run file."""

from __future__ import annotations

import json
import logging
import string
from collections.abc import Iterator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from geowarn.logs import JsonFormatter, LogfmtFormatter
from geowarn.redact import MASK, forget_secrets, is_secret_name, redact, redact_tree, register_secret
from tests.hardening import tally

SECRET_CHARS = string.ascii_letters + string.digits + "!#$%&()*+-./:;<=>?@[]^_{|}~"
secrets = st.text(SECRET_CHARS, min_size=4, max_size=40).filter(lambda s: MASK not in s and s.strip() == s)
texts = st.text(max_size=60)


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


@given(secret=secrets, before=texts, after=texts)
def test_a_registered_secret_never_survives(secret: str, before: str, after: str) -> None:
    forget_secrets()
    register_secret(secret)
    out = redact(before + secret + after)
    tally("secrets", clean=secret not in out)
    assert secret not in out


@given(
    user=st.text(string.ascii_letters, min_size=1, max_size=10),
    password=st.text(string.ascii_letters + string.digits + "!$%^&*()-_=+", min_size=1, max_size=20),
    host=st.from_regex(r"[a-z]{1,10}(\.[a-z]{2,5})?", fullmatch=True),
)
def test_a_password_in_a_url_is_masked(user: str, password: str, host: str) -> None:
    assume(password not in user and password not in host and password not in "postgresql" and password not in "db")
    url = f"postgresql://{user}:{password}@{host}/db"
    out = redact(f"cannot open database {url}: timeout")
    tally("secrets", clean=password not in out)
    assert password not in out and f"{user}:{MASK}@{host}" in out


@given(
    name=st.sampled_from(["password", "api_key", "auth_token", "client_secret", "Authorization", "X-Api-Token"]),
    value=st.text(string.ascii_letters + string.digits + "-_.~+/=", min_size=4, max_size=30),
    sep=st.sampled_from(["=", ": ", " = ", ":"]),
    quote=st.sampled_from(["", "'", '"']),
)
def test_a_value_under_a_secret_name_is_masked(name: str, value: str, sep: str, quote: str) -> None:
    assume(value.lower() not in ("bearer", "basic", "token", "digest"))
    out = redact(f"config {name}{sep}{quote}{value}{quote} rejected")
    tally("secrets", clean=value not in out)
    assert value not in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://u:PW@h/db", "postgresql://u:***@h/db"),
        ("Authorization: Bearer abcdef123", "Authorization: Bearer ***"),
        ("https://x.example/hook?token=abc123&site=a", "https://x.example/hook?token=***&site=a"),
        ("password_env: GEOWARN_SMTP_PASSWORD", "password_env: GEOWARN_SMTP_PASSWORD"),  # names a variable
        ("design=5 signal=2 tokens", "design=5 signal=2 tokens"),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_secret_names() -> None:
    assert is_secret_name("password") and is_secret_name("X-Api-Token") and is_secret_name("client_secret")
    assert not is_secret_name("password_env") and not is_secret_name("site") and not is_secret_name("level")


def test_trees_mask_whole_values_under_secret_keys() -> None:
    tree = {"password": "x", "password_env": "A", "n": ["postgresql://a:b@c/d"], "token": None, "k": 3}
    assert redact_tree(tree) == {
        "password": MASK,
        "password_env": "A",
        "n": ["postgresql://a:***@c/d"],
        "token": None,
        "k": 3,
    }


@pytest.mark.parametrize("formatter", [LogfmtFormatter(), JsonFormatter()])
def test_log_lines_mask_secrets_in_messages_fields_and_exceptions(formatter: logging.Formatter) -> None:
    register_secret("tok-3141592")
    try:
        raise ValueError("Invalid header value b'Bearer tok-3141592\\n'")
    except ValueError:
        import sys

        record = logging.LogRecord("geowarn.x", logging.ERROR, "f", 1, "sent to %s", ("u:tok-3141592@h",), None)
        record.exc_info = sys.exc_info()
    record.__dict__["error"] = "postgresql://geo:hunter2@db/geowarn"
    record.__dict__["headers"] = {"Authorization": "tok-3141592"}
    line = formatter.format(record)
    assert "tok-3141592" not in line and "hunter2" not in line
    if isinstance(formatter, JsonFormatter):
        json.loads(line)
