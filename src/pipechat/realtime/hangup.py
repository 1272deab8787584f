"""Ending an engine.io connection at once, whether or not its client still reads."""

from __future__ import annotations

from typing import Any


async def hang_up(socket: Any, *, notify: bool, reason: str | None = None) -> None:
    """Close `socket` (an engine.io `AsyncSocket`) now and forget it.

    engine.io's own `disconnect` waits until the client has read everything queued, the
    CLOSE packet included: forever for a client that stopped reading, or a long-polling
    client that never polls again. Here nothing waits: `notify` queues the CLOSE packet for a
    client that still reads, and a `None` wakes the socket's writer, which then closes the
    websocket (or answers a parked long-polling GET) instead of waiting for more.
    """
    server = socket.server
    await socket.close(wait=False, abort=not notify,
                       reason=reason or server.reason.SERVER_DISCONNECT)
    socket.queue.put_nowait(None)
    if server.sockets.get(socket.sid) is socket:
        # Its next request (a poll, a POST) is refused at once as an unknown session.
        del server.sockets[socket.sid]
