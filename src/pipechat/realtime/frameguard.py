"""What a client may send over Socket.IO, checked frame by frame before anything is buffered.

- Only namespaces with a handler (`/chats`) connect; any other gets `connect_error` with
  `{code: 130, message}`.
- Binary attachments are refused at their header: python-socketio would keep every following
  binary frame until the announced count (any number) arrived. The client is told (103, on
  its namespace when it has one) and the connection is closed.
- A malformed packet on a connected namespace is answered once (103, as an ack when it has an
  id), through the namespace like any event, so it counts toward the rate limit too. A packet
  for a namespace that is not connected, or one whose namespace cannot be read, closes the
  connection (what the socket.io reference server does).
- A websocket frame that is not an engine.io packet closes the connection before engine.io
  decodes it (engine.io raised out of its reader for those and logged a traceback).

`FrameGuard._handle_eio_message` replaces python-socketio's dispatch, which it mirrors minus
the binary buffering, only for the exact source it was written against (sha256 fingerprint);
otherwise the stock dispatch runs behind the binary check and a WARNING says so.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import socketio
from engineio.async_drivers.asgi import WebSocket
from socketio import packet as sio_packet
from socketio.exceptions import ConnectionRefusedError

from pipechat.errors import ErrorCode
from pipechat.realtime.hangup import hang_up
from pipechat.realtime.payloads import MalformedEvent
from pipechat.realtime.transportlog import log_refused
from pipechat.realtime.upstream import source_sha256

log = logging.getLogger("pipechat.realtime")

# sha256 of `inspect.getsource(socketio.AsyncServer._handle_eio_message)`, python-socketio 5.18.1.
KNOWN_DISPATCH_SOURCE = "bef50fc0e1635921c922995dba721d05d1c5ccc95d6a6b7647a1db75c4e6032e"
ENGINEIO_PACKET_TYPES = frozenset("0123456")
BINARY_PACKET_TYPES = ("5", "6")  # BINARY_EVENT, BINARY_ACK


DISPATCH_APPLIES = (source_sha256(socketio.AsyncServer._handle_eio_message)
                    == KNOWN_DISPATCH_SOURCE)
if not DISPATCH_APPLIES:
    log.warning("python-socketio's AsyncServer._handle_eio_message is not the known version; "
                "its own dispatch runs behind the binary check")


class CheckedWebSocket(WebSocket):  # type: ignore[misc]
    """engine.io's ASGI websocket, ending the connection at a frame that is no engine.io packet."""

    async def wait(self) -> Any:
        """The next frame; `OSError` (engine.io's reader then closes) when it is not a packet."""
        data = await super().wait()
        if isinstance(data, str) and (not data or data[0] not in ENGINEIO_PACKET_TYPES):
            log_refused("not an engine.io packet", None)
            raise OSError("not an engine.io packet")
        return data


def _is_event(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and isinstance(data[0], str)


class FrameGuard(socketio.AsyncServer):  # type: ignore[misc]
    """An AsyncServer that refuses, answers or hangs up on what its namespaces never accept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # engine.io decodes each websocket frame before any hook of python-socketio's runs.
        self.eio._async = {**self.eio._async, "websocket": CheckedWebSocket}

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        namespace = namespace or "/"
        if namespace not in self.namespace_handlers:
            known = ", ".join(self.namespace_handlers)
            await self._refuse_connect(eio_sid, namespace, ErrorCode.NOT_FOUND,
                                       f"no namespace {namespace[:50]!r}; connect to {known}")
            return
        if self.manager.sid_from_eio_sid(eio_sid, namespace) is not None:
            # python-socketio answers a second CONNECT with an uncoded "Unable to connect".
            await self._refuse_connect(eio_sid, namespace, ErrorCode.VALIDATION_FAILED,
                                       f"already connected to {namespace}")
            return
        await super()._handle_connect(eio_sid, namespace, data)

    async def _refuse_connect(self, eio_sid: str, namespace: str, code: ErrorCode,
                              message: str) -> None:
        # As the namespace's own refusals: the client's `err.data` is {code, message}.
        refusal = ConnectionRefusedError(message, {"code": int(code), "message": message})
        await self._send_packet(eio_sid, self.packet_class(
            sio_packet.CONNECT_ERROR, data=refusal.error_args, namespace=namespace))

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed:
            return  # hung up already: what was still on the way is dropped
        if isinstance(data, bytes) or (isinstance(data, str) and data[:1] in BINARY_PACKET_TYPES):
            await self._refuse_binary(socket, data)
            return
        if not isinstance(data, str):
            # engine.io parsed a text frame as JSON (`4[1]`): not a Socket.IO packet.
            await self._refuse(socket, None, None, "not a Socket.IO packet")
            return
        if not DISPATCH_APPLIES:
            try:
                await super()._handle_eio_message(eio_sid, data)
            except Exception:
                await self._refuse(socket, None, None, "malformed packet")
            return
        pkt = self.packet_class()
        try:
            pkt.decode(data)
        except Exception:
            # The header (namespace, id) is read before the JSON that failed.
            await self._refuse(socket, pkt.namespace, pkt.id, "unreadable packet")
            return
        await self._dispatch(socket, pkt)

    async def _dispatch(self, socket: Any, pkt: Any) -> None:
        """python-socketio's dispatch, for the packet types a client may send unbuffered."""
        eio_sid, namespace, kind = socket.sid, pkt.namespace, pkt.packet_type
        if kind == sio_packet.CONNECT:
            await self._handle_connect(eio_sid, namespace, pkt.data)
        elif kind == sio_packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, namespace, self.reason.CLIENT_DISCONNECT)
        elif kind == sio_packet.EVENT and _is_event(pkt.data):
            if self._connected(eio_sid, namespace):
                await self._handle_event(eio_sid, namespace, pkt.id, pkt.data)
            else:
                await self._refuse(socket, namespace, pkt.id, "event before connect")
        elif kind == sio_packet.EVENT:
            await self._refuse(socket, namespace, pkt.id,
                               "an event must be a JSON array [name, ...arguments]")
        elif kind == sio_packet.ACK and self._connected(eio_sid, namespace):
            await self._handle_ack(eio_sid, namespace, pkt.id, pkt.data)
        else:
            await self._refuse(socket, namespace, None, "unexpected packet type")

    async def _refuse_binary(self, socket: Any, data: str | bytes) -> None:
        namespace, ack_id = None, None
        if isinstance(data, str):
            header = self.packet_class()
            with contextlib.suppress(Exception):  # what was read before a failure will do
                header.decode(data)
            namespace = header.namespace
            ack_id = header.id if header.packet_type == sio_packet.BINARY_EVENT else None
        else:
            # A bare attachment: tell the client on whichever namespace it is connected to.
            namespace = next((ns for ns in self.namespace_handlers
                              if self._connected(socket.sid, ns)), None)
        await self._refuse(socket, namespace, ack_id, "binary attachments are not accepted",
                           close=True)

    async def _refuse(self, socket: Any, namespace: str | None, ack_id: int | None,
                      reason: str, *, close: bool = False) -> None:
        """Answer 103 on a connected namespace (then close if `close`); else close."""
        connected = self._connected(socket.sid, namespace)
        log_refused(reason if connected else "packet for a namespace not connected",
                    socket.sid, namespace=(namespace or "/")[:50])
        if connected:
            # Through the namespace, as the event it stands for: one reply, rate-limited.
            await self._handle_event(socket.sid, namespace, ack_id, [MalformedEvent(reason)])
        if close or not connected:
            await hang_up(socket, notify=True)

    def _connected(self, eio_sid: str, namespace: str | None) -> bool:
        namespace = namespace or "/"
        if namespace not in self.namespace_handlers:
            return False
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        return sid is not None and bool(self.manager.is_connected(sid, namespace))
