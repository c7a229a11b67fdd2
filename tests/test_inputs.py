"""Values entered by people: every bad one is refused with one line, every good one goes through unchanged."""

from __future__ import annotations

import string
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geowarn import inputs
from geowarn.alerts.channels.smtp import mailbox
from geowarn.errors import ConfigError
from tests.hardening import tally

CONTROL = st.sampled_from(["\n", "\r", "\x00", "\x1b", "\x7f", "\u2028", "\u2029", "\u202e", "\x85"])


def refused(check, value) -> bool:  # type: ignore[no-untyped-def]
    """True when ``check`` refuses ``value`` with a one-line ConfigError naming the field."""
    try:
        inputs.entered("field", value, check)
    except ConfigError as exc:
        message = str(exc)
        return message.startswith("field ") and "\n" not in message and "; " in message
    return False


@given(st.text(max_size=80))
def test_any_text_is_a_slug_only_when_it_is_one(text: str) -> None:
    ok = bool(text) and len(text) <= 64 and text[0] in string.ascii_lowercase + string.digits
    ok = ok and all(c in string.ascii_lowercase + string.digits + "-_" for c in text)
    if ok:
        assert inputs.slug(text) == text
    else:
        tally("bad inputs", clean=refused(inputs.slug, text))
        assert refused(inputs.slug, text)


@given(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True), st.sampled_from(["\n", "\r\n", " ", "\t"]))
def test_a_slug_with_a_trailing_line_break_is_refused(slug: str, tail: str) -> None:
    tally("bad inputs", clean=refused(inputs.slug, slug + tail))
    assert refused(inputs.slug, slug + tail)


@given(st.text(max_size=30), CONTROL, st.text(max_size=30))
def test_a_name_with_a_control_character_is_refused(head: str, control: str, tail: str) -> None:
    tally("bad inputs", clean=refused(inputs.one_line, head + control + tail))
    assert refused(inputs.one_line, head + control + tail)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=200))
def test_a_printable_name_goes_into_a_subject_header(name: str) -> None:
    if not name.strip() or any(c in name for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"):
        return
    clean = inputs.one_line(name)
    msg = EmailMessage(policy=default_policy)
    msg["Subject"] = f"[geowarn] RED – {clean}"
    assert len(msg.get_all("Subject") or []) == 1


@given(
    st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10})?", fullmatch=True),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]{2,6}){1,2}", fullmatch=True),
)
def test_good_addresses_pass_and_make_one_to_header(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    assert inputs.email_address(address) == address
    assert inputs.email_address(f"On call <{address}>") == f"On call <{address}>"
    msg = EmailMessage(policy=default_policy)
    msg["To"] = mailbox(address)
    assert msg["To"].addresses[0].addr_spec == address


@given(
    st.one_of(
        st.builds(lambda a, c, b: f"{a}@ex.org{c}{b}", st.text(max_size=8), CONTROL, st.text(max_size=20)),
        st.builds(
            lambda a, b: f"{a}@x.org, {b}@y.org",
            st.text(string.ascii_lowercase, min_size=1, max_size=5),
            st.text(string.ascii_lowercase, min_size=1, max_size=5),
        ),
        st.text(max_size=40).filter(lambda t: "@" not in t),
        st.builds(lambda a: f"{a}@@x.org", st.text(string.ascii_lowercase, min_size=1, max_size=5)),
        st.builds(lambda a: f"{a}@-bad-.org", st.text(string.ascii_lowercase, min_size=1, max_size=5)),
        st.just("ops@example.org\nBcc: everyone@example.org"),
    )
)
def test_bad_addresses_are_refused(text: str) -> None:
    tally("bad inputs", clean=refused(inputs.email_address, text))
    assert refused(inputs.email_address, text)


@pytest.mark.parametrize("number", ["+47 123 45 678", "+1 (555) 010-9999", "+4712345678"])
def test_phone_numbers(number: str) -> None:
    assert inputs.phone_number(number).startswith("+")


@pytest.mark.parametrize("number", ["12345678", "+0123456", "+47 12\n34", "+47abc", ""])
def test_bad_phone_numbers(number: str) -> None:
    tally("bad inputs", clean=refused(inputs.phone_number, number))
    assert refused(inputs.phone_number, number)


def test_dates_ids_and_notes() -> None:
    today = date(2026, 5, 1)
    assert inputs.survey_date(date(2026, 5, 2), today) == date(2026, 5, 2)
    bad = [
        (lambda d: inputs.survey_date(d, today), date(2062, 5, 1)),
        (lambda d: inputs.survey_date(d, today), date(1900, 1, 1)),
        (inputs.iso_date, "2026-13-01"),
        (inputs.row_id, 99999999999999999999999),
        (inputs.row_id, 0),
        (inputs.row_id, True),
        (inputs.note, "ok\x00"),
        (inputs.one_line, "x" * 201),
        (inputs.one_line, "   "),
    ]
    for check, value in bad:
        tally("bad inputs", clean=refused(check, value))
        assert refused(check, value), value
    assert inputs.row_id(2**63 - 1) == 2**63 - 1
    assert inputs.note("line one\nline two") == "line one\nline two"
