"""uvicorn's websocket protocol with less kept per idle connection (a small, checked subclass).

Per websocket, uvicorn's `WebSocketsSansIOProtocol` keeps an `asyncio.Queue` and an
`asyncio.Event` (five deques, about 3.5 KiB while idle) and, for the connection's whole life,
the handshake's parsed request and response with their headers (about 2 KiB) although nothing
reads them after the `websocket.accept`. `LeanWebSocketProtocol` uses a `LeanQueue` and a
`LeanEvent` and drops the handshake once accepted; everything else is uvicorn's code.

It is used only with the exact class source it was written against (sha256 fingerprint), so a
uvicorn upgrade that changes the protocol falls back to uvicorn's own choice ("auto").
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from pipechat.realtime.leanqueue import LeanEvent, LeanQueue

log = logging.getLogger("pipechat.realtime")

# sha256 of `inspect.getsource(WebSocketsSansIOProtocol)` as in uvicorn 0.54.0.
KNOWN_PROTOCOL_SOURCE = "0bbcec98938432f71b93ca20eea63487298f4650159242db8526a6f664902997"


def _fingerprint() -> str:
    try:
        source = inspect.getsource(WebSocketsSansIOProtocol)
    except (OSError, TypeError):
        return ""
    return hashlib.sha256(source.encode()).hexdigest()


PATCH_APPLIES = _fingerprint() == KNOWN_PROTOCOL_SOURCE
if not PATCH_APPLIES:
    log.info("uvicorn's WebSocketsSansIOProtocol is not the known version; using ws='auto'")


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol, lighter while a connection idles."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn only puts, gets and checks `empty()` on the queue, and sets, clears and
        # waits on `writable`: the lean versions do exactly that.
        self.queue = LeanQueue()  # type: ignore[assignment]
        self.writable = LeanEvent()  # type: ignore[assignment]
        self.writable.set()

    async def send(self, message: Any) -> None:
        """uvicorn's send; after the accept went out, forget the handshake."""
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # Only the handshake reads them (`handle_connect` and the accept above).
            del self.request, self.response


def websocket_protocol() -> type[WebSocketsSansIOProtocol] | str:
    """The `ws` option for uvicorn: the lean protocol when it applies, else uvicorn's "auto"."""
    return LeanWebSocketProtocol if PATCH_APPLIES else "auto"
