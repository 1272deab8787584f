"""Logging: readable lines on a terminal, JSON lines otherwise; never message texts or tokens."""

from __future__ import annotations

import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

LogFormat = Literal["auto", "text", "json"]

# Attributes every LogRecord has; anything else was passed through `extra=` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "color_message",  # uvicorn adds an ANSI-coloured copy of the event
}


class JsonLineFormatter(logging.Formatter):
    """Formats records as JSON lines: time, level, logger, event, and `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def describe_error(exc: BaseException) -> dict[str, str]:
    """Log fields saying what failed and where, without the exception's own text.

    An exception's message can quote the values involved (asyncpg quotes a parameter it
    cannot encode even when SQLAlchemy hides parameters), and those may be message texts or
    credentials. Type names, the driver's SQLSTATE and the stack's code lines never are.
    """
    orig = getattr(exc, "orig", None)
    fields = {"error": type(exc).__name__}
    if orig is not None:
        fields["driver_error"] = type(orig).__name__
        sqlstate = getattr(orig, "sqlstate", None)
        if isinstance(sqlstate, str):
            fields["sqlstate"] = sqlstate
    if exc.__traceback__ is not None:
        fields["stack"] = "".join(traceback.format_tb(exc.__traceback__))
    return fields


class TextLineFormatter(logging.Formatter):
    """One readable line per record: local time, level, logger, event, then `key=value` fields.

    A stack (from `describe_error`) or an exception follows on indented lines.
    """

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        stack = fields.pop("stack", None)
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if fields:
            line += "  " + " ".join(f"{key}={value}" for key, value in fields.items())
        trailer = stack or (self.formatException(record.exc_info) if record.exc_info else "")
        if trailer:
            line += "\n" + "\n".join(f"    {part}" for part in str(trailer).rstrip().splitlines())
        return line


# Routine lines other libraries log at INFO, by logger and message template: uvicorn's one per
# accepted WebSocket (a busy server's noise), Alembic's preamble before every migration check.
_ROUTINE = {
    ("uvicorn.error", '%s - "WebSocket %s" [accepted]'),
    ("alembic.runtime.migration", "Context impl %s."),
    ("alembic.runtime.migration", "Will assume %s DDL."),
}


class RoutineLines(logging.Filter):
    """Moves the `_ROUTINE` lines to DEBUG, then drops what is below the configured level.

    Matched by template: should a library change it, the line simply stays at INFO.
    """

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if (record.name, record.msg) in _ROUTINE:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self.level


def pick_formatter(log_format: LogFormat, stream: Any) -> logging.Formatter:
    """`auto`: readable text on a terminal, JSON lines for files, pipes and log collectors."""
    if log_format == "auto":
        log_format = "text" if getattr(stream, "isatty", lambda: False)() else "json"
    return TextLineFormatter() if log_format == "text" else JsonLineFormatter()


def configure_logging(level: str, log_format: LogFormat = "auto",
                      quiet_migrations: bool = False) -> None:
    """Send every logger's records to stderr at `level`, as text or JSON lines.

    `quiet_migrations` keeps Alembic's INFO lines out of short commands' output.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(pick_formatter(log_format, sys.stderr))
    handler.addFilter(RoutineLines(logging.getLevelName(level)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING if quiet_migrations else logging.NOTSET)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
