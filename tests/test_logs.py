"""Log lines are JSON objects with the event and its fields."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson

from pipechat import logs
from pipechat.logs import JsonLineFormatter


def test_json_line_carries_event_and_extra_fields() -> None:
    record = logging.LogRecord("pipechat.realtime", logging.INFO, __file__, 1,
                               "socket %s connected", ("abc",), None)
    record.user_id = 7
    line = JsonLineFormatter().format(record)
    entry = orjson.loads(line)
    assert entry["event"] == "socket abc connected"
    assert entry["level"] == "INFO" and entry["logger"] == "pipechat.realtime"
    assert entry["user_id"] == 7 and "\n" not in line


def test_exceptions_stay_on_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("pipechat", logging.ERROR, __file__, 1, "failed", (),
                                   sys.exc_info())
    line = JsonLineFormatter().format(record)
    assert "\n" not in line and "ValueError" in orjson.loads(line)["exception"]


def test_no_logging_call_prints_an_exception_text() -> None:
    # An exception's text can quote message texts or credentials (asyncpg quotes parameters);
    # every path logs `describe_error(exc)` instead, which omits it.
    source_root = Path(logs.__file__).resolve().parent
    offenders = [f"{path.relative_to(source_root)}:{number}"
                 for path in sorted(source_root.rglob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if ".exception(" in line or "exc_info=" in line]
    assert offenders == []
