"""Checks of the values people enter: ids, names, email addresses, phone numbers, dates, row ids.

Each check returns the value (normalised where that is harmless) or raises ``ValueError`` with
``problem; fix``. They run where a value enters geowarn (``site add``, a site YAML, ``survey add``,
``alerts ack``), so a value that would break a message header, a file name, a database column or an
SMS gateway is refused there with one clear line, and never reaches a monitoring run.
:func:`entered` turns the ``ValueError`` into a ``ConfigError`` naming the field and the value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import getaddresses, parseaddr
from typing import TypeVar

from geowarn.errors import ConfigError

In = TypeVar("In")
Out = TypeVar("Out")

#: Site ids: lower-case letters, digits, ``-`` and ``_``; they name folders, files and message keys.
SLUG_MAX_CHARS = 64
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
#: Longest site name, person's name, recipient label (the database columns' sizes).
NAME_MAX_CHARS = 200
ADDRESS_MAX_CHARS = 320
NOTE_MAX_CHARS = 4000
#: Database row ids are 64-bit signed integers.
MAX_ROW_ID = 2**63 - 1
#: Earliest survey date accepted, and how far after today (UTC) a date may lie (time zones).
EARLIEST_DATE = date(1950, 1, 1)
FUTURE_TOLERANCE = timedelta(days=1)

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_PHONE_SEPARATORS = re.compile(r"[\s\-.()]")
#: Bidirectional overrides and isolates: invisible, and able to make a text read other than it is.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` (a date as ``2026-05-01``), clipped to ``limit`` characters."""
    text = value.isoformat() if isinstance(value, date) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def entered(field: str, value: In, check: Callable[[In], Out]) -> Out:
    """``check(value)``, its ``ValueError`` raised as ``ConfigError``: ``FIELD VALUE: problem; fix``."""
    try:
        return check(value)
    except ValueError as exc:
        raise ConfigError(f"{field} {shown(value)}: {exc}") from None


def _bad_char(text: str, *, newlines: bool = False) -> str | None:
    for ch in text:
        if newlines and ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs") or ch in _BIDI:
            return ch
    return None


def one_line(text: str, max_chars: int = NAME_MAX_CHARS) -> str:
    """A non-empty line of printable text (no line breaks or control characters), surrounding spaces removed."""
    if not isinstance(text, str):
        raise ValueError("not text; give it in quotes")
    if (ch := _bad_char(text)) is not None:
        raise ValueError(
            f"holds the control character U+{ord(ch):04X} (a line break?); it goes into message headers and "
            "file names, so give it on one line without control characters"
        )
    text = text.strip()
    if not text:
        raise ValueError("empty; give a name")
    if len(text) > max_chars:
        raise ValueError(f"{len(text)} characters long; shorten it to at most {max_chars}")
    return text


def note(text: str) -> str:
    """Free text (several lines allowed), without other control characters, at most :data:`NOTE_MAX_CHARS`."""
    if (ch := _bad_char(text, newlines=True)) is not None:
        raise ValueError(f"holds the control character U+{ord(ch):04X}; remove it")
    if len(text) > NOTE_MAX_CHARS:
        raise ValueError(f"{len(text)} characters long; shorten it to at most {NOTE_MAX_CHARS}")
    return text


def slug(text: str) -> str:
    """A site id: ``[a-z0-9][a-z0-9_-]*``, at most :data:`SLUG_MAX_CHARS` characters, nothing else (no newline)."""
    if not isinstance(text, str) or not _SLUG.fullmatch(text) or len(text) > SLUG_MAX_CHARS:
        raise ValueError(
            f"not a slug; use 1-{SLUG_MAX_CHARS} lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit (e.g. north-slope)"
        )
    return text


def email_address(text: str) -> str:
    """One email address, ``user@example.org`` or ``Name <user@example.org>``, ASCII, as RFC 5321 allows.

    Checked strictly because it goes into ``To:`` headers and SMTP commands: no line breaks or control
    characters, exactly one address, a dot-atom local part of at most 64 characters and a domain of
    letters, digits and hyphens.
    """
    one_line(text, ADDRESS_MAX_CHARS)
    if "@" not in text:
        raise ValueError("not an email address; write it as user@example.org")
    if len(getaddresses([text])) != 1 or text.count("@") != 1:
        raise ValueError("not one email address; give one address per recipient, e.g. oncall@example.org")
    _, addr = parseaddr(text)
    local, _, domain = addr.rpartition("@")
    if not addr or not local or not domain:
        raise ValueError("not an email address; write it as user@example.org")
    if not addr.isascii():
        raise ValueError("not plain ASCII; use the ASCII (punycode) form of the domain")
    if len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        raise ValueError(f"invalid local part {local!r}; write it as user@example.org")
    labels = domain.split(".")
    if len(domain) > 253 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"invalid domain {domain!r}; write it as user@example.org")
    return text.strip()


def phone_number(text: str) -> str:
    """An E.164 phone number (``+4712345678``; spaces, dashes, dots and brackets are dropped)."""
    one_line(text, 40)
    number = _PHONE_SEPARATORS.sub("", text)
    if not _E164.fullmatch(number):
        raise ValueError("not an E.164 phone number; write it as +<country code><number>, e.g. +4712345678")
    return number


def survey_date(value: date, today: date | None = None) -> date:
    """An acquisition date between :data:`EARLIEST_DATE` and tomorrow (UTC).

    A date in the future is a typo (2062 for 2026) that would put every later survey "before" it.
    """
    today = today or datetime.now(UTC).date()
    if value > today + FUTURE_TOLERANCE:
        raise ValueError(f"in the future (today is {today}); give the date the survey was flown")
    if value < EARLIEST_DATE:
        raise ValueError(f"before {EARLIEST_DATE}; give the date the survey was flown")
    return value


def iso_date(text: str | date) -> date:
    """A date given as ``YYYY-MM-DD`` text (or already a date)."""
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ValueError("not a date; use YYYY-MM-DD, e.g. 2026-05-01") from None


def row_id(value: int) -> int:
    """A database id: a whole number from 1 to 2**63 - 1."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROW_ID:
        raise ValueError("not an id; ids are whole numbers from 1 to 2**63-1 (see them with the list command)")
    return value
