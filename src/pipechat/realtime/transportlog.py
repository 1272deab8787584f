"""Logging of the Socket.IO transport: short JSON lines, a few per minute, never a traceback.

A client controls how often the transport fails (one malformed frame after another), so what
the transport logs about its clients is throttled: one line per kind of event per
`THROTTLE_SECONDS`, saying how many were left out since the previous one. engine.io's and
python-socketio's own loggers go the same way: through pipechat's JSON handler (they add a
plain-text handler of their own unless given a logger), at WARNING at least (at INFO they log
every packet's data, i.e. message texts), without tracebacks, throttled per call site.
"""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger("pipechat.transport")

THROTTLE_SECONDS = 10.0
# Most distinct kinds of line remembered; a client cannot make the table grow past it.
MAX_KINDS = 256
MAX_EVENT_CHARS = 200


class LogThrottle:
    """Lets one line per kind through every `interval` seconds and counts the others."""

    def __init__(self, interval: float = THROTTLE_SECONDS) -> None:
        self._interval = interval
        # kind -> (when its last line went out, lines left out since)
        self._kinds: dict[str, tuple[float, int]] = {}

    def admit(self, kind: str) -> int | None:
        """None when the line is to be left out, else how many were left out before it."""
        now = time.monotonic()
        last, suppressed = self._kinds.get(kind, (float("-inf"), 0))
        if now - last < self._interval:
            self._kinds[kind] = (last, suppressed + 1)
            return None
        if kind not in self._kinds and len(self._kinds) >= MAX_KINDS:
            self._forget_quiet(now)
        self._kinds[kind] = (now, 0)
        return suppressed

    def _forget_quiet(self, now: float) -> None:
        quiet = [kind for kind, (last, _) in self._kinds.items() if now - last >= self._interval]
        for kind in quiet or list(self._kinds)[: MAX_KINDS // 2]:
            del self._kinds[kind]


_throttle = LogThrottle()


def log_refused(kind: str, eio_sid: str | None, **fields: Any) -> None:
    """One throttled line about a client's frame or connection the transport refused.

    `kind` is one of a few fixed texts (it is the throttle's key); `eio_sid` names the
    engine.io connection, when known.
    """
    suppressed = _throttle.admit(kind)
    if suppressed is not None:
        where = {"eio_sid": eio_sid} if eio_sid else {}
        log.warning("transport refused: %s", kind,
                    extra={**where, "suppressed": suppressed, **fields})


class TransportLogFilter(logging.Filter):
    """Shortens, strips and throttles the records of engine.io's and python-socketio's loggers."""

    def __init__(self) -> None:
        super().__init__()
        self._throttle = LogThrottle()

    def filter(self, record: logging.LogRecord) -> bool:
        """Let the record through (shortened, without traceback) when its throttle allows."""
        # Per call site, not per text: some texts quote what the client sent.
        suppressed = self._throttle.admit(f"{record.name}:{record.pathname}:{record.lineno}")
        if suppressed is None:
            return False
        if record.exc_info and record.exc_info[0] is not None:
            # A traceback of a client's bad input tells nothing; its type name is enough.
            record.error = record.exc_info[0].__name__
        record.exc_info = None
        record.exc_text = None
        record.msg = record.getMessage()[:MAX_EVENT_CHARS]
        record.args = None
        record.suppressed = suppressed
        return True


def _transport_logger(name: str, level: int) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(level)
    # Their own handlers would print plain text besides pipechat's JSON line.
    logger.handlers[:] = []
    logger.propagate = True
    if not any(isinstance(f, TransportLogFilter) for f in logger.filters):
        logger.addFilter(TransportLogFilter())
    return logger


def transport_loggers(level: str) -> tuple[logging.Logger, logging.Logger]:
    """(python-socketio's, engine.io's) loggers, to pass as `logger=` and `engineio_logger=`."""
    threshold = max(logging.WARNING, logging.getLevelNamesMapping()[level])
    return (_transport_logger("socketio.server", threshold),
            _transport_logger("engineio.server", threshold))
