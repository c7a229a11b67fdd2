"""Logging as ``key=value`` lines (logfmt) or JSON lines, both easy for scripts to parse.

Every field passes through :func:`geowarn.redact.redact`, so no secret reaches a log line; an
exception logged with ``exc_info`` becomes an ``error`` field of one line (type and message).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from geowarn.redact import redact, redact_tree

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def _fmt_value(value: Any) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else redact(str(value))
    if text == "" or any(c in text for c in ' ="\n'):
        return json.dumps(text)
    return text


def _fields(record: logging.LogRecord, ts: str) -> dict[str, Any]:
    """The record's fields, secrets masked; ``error`` carries a logged exception on one line."""
    fields: dict[str, Any] = {"ts": ts, "level": record.levelname.lower(), "logger": record.name}
    fields["msg"] = record.getMessage()
    fields.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
    if record.exc_info and record.exc_info[1] is not None and "error" not in fields:
        exc = record.exc_info[1]
        fields["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return {k: redact_tree(v) if isinstance(v, str | dict | list | tuple) else v for k, v in fields.items()}


class LogfmtFormatter(logging.Formatter):
    """``ts=... level=info logger=geowarn.detect msg="..." key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        return " ".join(f"{k}={_fmt_value(v)}" for k, v in _fields(record, ts).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the same fields as :class:`LogfmtFormatter`."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)))
        return json.dumps(fields, default=lambda v: redact(str(v)))


def setup_logging(level: str = "info", fmt: str = "logfmt") -> None:
    """Send geowarn's log lines to stderr in ``fmt`` (``logfmt`` or ``json``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger("geowarn")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def log_event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``msg`` with structured ``fields`` (they become key=value pairs).

    A field named like a ``LogRecord`` attribute (``message``, ``name``, ``args``...) gets a
    trailing underscore instead of making :mod:`logging` raise in the middle of a job.
    """
    logger.log(level, msg, extra={f"{k}_" if k in _RESERVED else k: v for k, v in fields.items()})
