"""Structured logging: one JSON object per line, never message texts or tokens."""

from __future__ import annotations

import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson

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


def configure_logging(level: str) -> None:
    """Send every logger's records to stderr as JSON lines at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
