"""Structured log lines: fields become key=value pairs; no field name can break a log call."""

from __future__ import annotations

import logging

import pytest

from geowarn.logs import LogfmtFormatter, log_event


def test_fields_named_like_record_attributes_are_kept_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("geowarn.test")
    caplog.set_level(logging.INFO, logger="geowarn")
    log_event(logger, "survey added", survey=3, message="added", name="x", args="y")
    record = caplog.records[-1]
    assert record.getMessage() == "survey added"
    line = LogfmtFormatter().format(record)
    assert "survey=3" in line and "message_=added" in line and "name_=x" in line and "args_=y" in line
