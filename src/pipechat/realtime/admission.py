"""Who may open a Socket.IO connection, and how long it may stay without a namespace.

- The origin check: a browser's `Origin` must be the server's own (same-origin, as engine.io
  does by default) or one of `PIPECHAT_CORS_ORIGINS`; clients that send no `Origin` (Node,
  mobile apps) are not browsers and pass.
- A connection that is connected to no namespace is closed after
  `PIPECHAT_CONNECT_TIMEOUT_SECONDS` (socket.io's `connectTimeout`, 45 s by default): counted
  from its opening, and again from each time it leaves its last namespace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import socketio

from pipechat.realtime.hangup import hang_up
from pipechat.realtime.transportlog import log_refused


def _own_origins(environ: dict[str, Any]) -> set[str]:
    """The origins of this server as the request names it (engine.io's same-origin rule)."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    own = {f"{scheme}://{host}"} if host else set()
    forwarded = environ.get("HTTP_X_FORWARDED_HOST")
    if forwarded:
        own.add(f"{scheme}://{forwarded.split(',')[0].strip()}")
    return own


def origin_check(allowed: list[str]) -> Callable[[str, dict[str, Any]], bool]:
    """engine.io's `cors_allowed_origins`: same-origin, widened by `allowed`."""
    extra = frozenset(allowed)

    def is_allowed(origin: str, environ: dict[str, Any]) -> bool:
        return origin in extra or origin in _own_origins(environ)

    return is_allowed


class ConnectDeadline(socketio.AsyncServer):  # type: ignore[misc]
    """An AsyncServer that closes connections left without a namespace for too long."""

    connect_timeout: float = 45.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._closing: set[asyncio.Task[None]] = set()

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        result = await super()._handle_eio_connect(eio_sid, environ)
        self._arm(eio_sid)
        return result

    async def _handle_disconnect(self, eio_sid: str, namespace: str | None,
                                 reason: Any = None) -> None:
        await super()._handle_disconnect(eio_sid, namespace, reason)
        self._arm(eio_sid)

    async def disconnect(self, sid: str, namespace: str | None = None,
                         ignore_queue: bool = False) -> None:
        """Disconnect a socket from its namespace; its connection gets a deadline again."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace or "/")
        await super().disconnect(sid, namespace=namespace, ignore_queue=ignore_queue)
        if eio_sid is not None:
            self._arm(eio_sid)

    def _arm(self, eio_sid: str) -> None:
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None and not socket.closing and not socket.closed:
            asyncio.get_running_loop().call_later(self.connect_timeout, self._expire, eio_sid)

    def _expire(self, eio_sid: str) -> None:
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed:
            return
        sids = [(namespace, self.manager.sid_from_eio_sid(eio_sid, namespace))
                for namespace in self.namespace_handlers]
        if any(sid is not None and self.manager.is_connected(sid, namespace)
               for namespace, sid in sids):
            return
        if any(sid is not None for _, sid in sids):
            self._arm(eio_sid)  # a connect under way (checking its token): look again later
            return
        log_refused("no namespace connect in time", eio_sid, seconds=self.connect_timeout)
        task = asyncio.get_running_loop().create_task(hang_up(socket, notify=True))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
