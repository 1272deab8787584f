"""uvicorn's websocket protocol with less kept per idle connection and fewer socket writes.

Per websocket, uvicorn's `WebSocketsSansIOProtocol` keeps an `asyncio.Queue` and an
`asyncio.Event` (five deques, about 3.5 KiB while idle) and, for the connection's whole life,
the handshake's parsed request and response with their headers (about 2 KiB) although nothing
reads them after the `websocket.accept`. `LeanWebSocketProtocol` uses a `LeanQueue` and a
`LeanEvent`, drops the handshake once accepted (and restarts websockets' parser, which held on
to the request), and writes the data frames sent to a socket during one turn of the event loop
with one `transport.write`; everything else is uvicorn's.

It is used only with the exact class source it was written against (sha256 fingerprint), so a
uvicorn upgrade that changes the protocol falls back to uvicorn's own choice ("auto").
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.protocol import Protocol, State

from pipechat.realtime.leanqueue import LeanEvent, LeanQueue
from pipechat.realtime.upstream import OVERRIDDEN, source_sha256

log = logging.getLogger("pipechat.realtime")

# sha256 of `inspect.getsource(WebSocketsSansIOProtocol)` as in uvicorn 0.54.0.
KNOWN_PROTOCOL_SOURCE = "0bbcec98938432f71b93ca20eea63487298f4650159242db8526a6f664902997"

PATCH_APPLIES = source_sha256(WebSocketsSansIOProtocol) == KNOWN_PROTOCOL_SOURCE
if not PATCH_APPLIES:
    log.warning("uvicorn's WebSocketsSansIOProtocol is not the known version; using ws='auto'")

# The parser swap below relies on websockets' parsers as fingerprinted in upstream.py.
PARSER_SWAP_APPLIES = all(
    source_sha256(OVERRIDDEN[name][0]) == OVERRIDDEN[name][1]
    for name in ("websockets.server.ServerProtocol.parse", "websockets.protocol.Protocol.parse"))


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol: lighter while idle, one write per loop turn."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn only puts, gets and checks `empty()` on the queue, and sets, clears and
        # waits on `writable`: the lean versions do exactly that.
        self.queue = LeanQueue()  # type: ignore[assignment]
        self.writable = LeanEvent()  # type: ignore[assignment]
        self.writable.set()
        self.flush_pending = False

    async def send(self, message: Any) -> None:
        """uvicorn's send, but data frames of one loop turn leave in one socket write."""
        if message["type"] == "websocket.send" and self._open_for_data():
            self._frame(message)
            return
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # Only the handshake reads them (`handle_connect` and the accept above).
            del self.request, self.response
            self._restart_parser()

    def _restart_parser(self) -> None:
        # websockets' `ServerProtocol.parse` keeps the handshake request (its headers: about
        # 2 KiB) as a local of its generator for the connection's whole life, though all it
        # runs from then on is `Protocol.parse`, the frame parser: start that one afresh. No
        # frame can be half-read yet (a client sends none before the 101 response, which goes
        # out just now); if bytes did arrive early, the parser is left as it is.
        conn = self.conn
        if PARSER_SWAP_APPLIES and conn.state is State.OPEN and not conn.reader.buffer:
            conn.parser = Protocol.parse(conn)
            next(conn.parser)

    def _open_for_data(self) -> bool:
        # The states in which uvicorn's own send frames the message at once.
        return (self.handshake_complete and not self.close_sent and not self.disconnected
                and self.initial_response is None and self.writable.is_set())

    def _frame(self, message: Any) -> None:
        # A chat message reaches many sockets in one turn of the loop, and engine.io's writer
        # sends each socket its queued packets one by one: a write (a syscall) per frame was a
        # third of the serving thread's time. The frame waits in the connection's own output
        # buffer, which every other uvicorn write drains first, so order is kept.
        try:
            if message.get("bytes") is not None:
                self.conn.send_binary(message["bytes"])
            elif message.get("text") is not None:
                self.conn.send_text(message["text"].encode())
        except InvalidState:
            raise ClientDisconnected() from None
        if not self.flush_pending:
            self.flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self.flush_pending = False
        output = self.conn.data_to_send()
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))


def websocket_protocol() -> type[WebSocketsSansIOProtocol] | str:
    """The `ws` option for uvicorn: the lean protocol when it applies, else uvicorn's "auto"."""
    return LeanWebSocketProtocol if PATCH_APPLIES else "auto"
