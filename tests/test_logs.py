"""Log lines: JSON objects with the event and its fields, or readable text on a terminal."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import orjson

from pipechat import logs
from pipechat.logs import JsonLineFormatter, RoutineLines, TextLineFormatter, pick_formatter


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


def test_text_line_is_readable_with_fields_and_an_indented_stack() -> None:
    record = logging.LogRecord("pipechat.messages", logging.ERROR, __file__, 1,
                               "batch failed", (), None)
    record.error = "IntegrityError"
    record.stack = '  File "batch.py", line 3, in write\n    do()\n'
    [line, *stack] = TextLineFormatter().format(record).split("\n")
    assert line.endswith(" ERROR   pipechat.messages: batch failed  error=IntegrityError")
    assert not line.startswith("{")
    assert stack == ['      File "batch.py", line 3, in write', "        do()"]


def test_auto_picks_text_on_a_terminal_and_json_elsewhere(tmp_path: Path) -> None:
    leader, follower = os.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as terminal:
            assert isinstance(pick_formatter("auto", terminal), TextLineFormatter)
            assert isinstance(pick_formatter("json", terminal), JsonLineFormatter)
    finally:
        os.close(leader)
        os.close(follower)
    with (tmp_path / "log").open("w") as file:
        assert isinstance(pick_formatter("auto", file), JsonLineFormatter)
        assert isinstance(pick_formatter("text", file), TextLineFormatter)


def accepted_websocket(level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.error", level, __file__, 1,
                             '%s - "WebSocket %s" [accepted]', ("127.0.0.1:5", "/socket.io/"),
                             None)


def test_the_line_per_accepted_websocket_is_debug() -> None:
    record = accepted_websocket()
    assert RoutineLines(logging.INFO).filter(record) is False
    assert RoutineLines(logging.DEBUG).filter(accepted_websocket()) is True
    assert record.levelname == "DEBUG"
    rejected = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1,
                                 '%s - "WebSocket %s" 403', ("127.0.0.1:5", "/"), None)
    assert RoutineLines(logging.INFO).filter(rejected) is True
