"""Room broadcasts that encode a packet once and queue it to each recipient without a task.

python-socketio's `AsyncManager.emit` encodes once but starts one asyncio task per recipient
and waits for all of them; each engine.io socket's writer then waits on its queue through
`asyncio.wait_for`, which on Python 3.11 wraps every wake-up in yet another task. For a chat
room that is most of the cost of a message. Here a broadcast hands the same pre-encoded
packet to each recipient's engine.io queue directly (`put_nowait` on an unbounded queue, the
same thing `AsyncSocket.send` ends in), and each socket's existing writer task sends it.

The client manager is python-socketio's extension point; `realtime/roomcast/` extends this one
with Redis pub/sub between processes (a message from another process ends in the same queue
puts here).
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet


class EncodedPacket(eio_packet.Packet):  # type: ignore[misc]
    """An engine.io MESSAGE packet encoded once, however many sockets send it."""

    def __init__(self, encoded_data: str) -> None:
        super().__init__(eio_packet.MESSAGE, encoded_data)
        self._encoded = super().encode()
        # What each recipient's send buffer counts it as (see sendbuffer), worked out once.
        encoded: str = self._encoded
        self.wire_size = len(encoded) if encoded.isascii() else len(encoded.encode())

    def encode(self, b64: bool = False) -> Any:
        """The cached encoding (text packets do not depend on `b64`)."""
        return self._encoded


class BroadcastManager(socketio.AsyncManager):  # type: ignore[misc]
    """An `AsyncManager` whose emits to rooms cost one queue put per recipient."""

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> None:
        """Emit `event` to a room, a list of rooms, a sid or the whole namespace."""
        room = to or room
        if namespace not in self.rooms:
            return
        if callback is not None:
            # Acks need a distinct packet id per recipient: python-socketio's path does that.
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                               callback=callback, **kwargs)
            return
        if not self.emit_now(event, data, namespace, room, skip_sid):
            # Binary attachments travel as several engine.io packets; keep the stock path.
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)

    def emit_now(self, event: str, data: Any, namespace: str, room: Any,
                 skip_sid: Any = None) -> bool:
        """Queue `event` to this process's sockets in `room` at once; False if it has binary."""
        encoded = self.encode_event(event, data, namespace)
        if encoded is None:
            return False
        self.deliver(EncodedPacket(encoded), namespace, room, skip_sid)
        return True

    def publish_now(self, event: str, data: Any, namespace: str, room: Any,
                    skip_sid: Any = None) -> bool:
        """`emit_now` to the room's sockets on every process; here, a single process."""
        return self.emit_now(event, data, namespace, room, skip_sid)

    def encode_event(self, event: str, data: Any, namespace: str) -> str | None:
        """The Socket.IO EVENT packet as text, or None when it needs binary attachments."""
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace,
                                           data=[event, *args]).encode()
        return None if isinstance(encoded, list) else str(encoded)

    async def flush(self, grace: float) -> bool:
        """Wait until emits are on their way to other processes: nothing to wait for here."""
        return True

    async def close(self) -> None:
        """Release connections: none here."""

    def send_now(self, eio_sid: str, pkt: sio_packet.Packet) -> None:
        """Queue one Socket.IO packet (an ack, say) to one engine.io socket, without waiting."""
        encoded = pkt.encode()
        # As python-socketio's `_send_packet`: a packet with binary attachments is several.
        for part in encoded if isinstance(encoded, list) else [encoded]:
            self._queue_to(eio_sid, eio_packet.Packet(eio_packet.MESSAGE, data=part))

    def deliver(self, pkt: EncodedPacket, namespace: str, room: Any, skip_sid: Any) -> None:
        """Queue `pkt` on the engine.io socket of every participant not skipped."""
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid not in skip:
                self._queue_to(eio_sid, pkt)

    def _queue_to(self, eio_sid: str, pkt: eio_packet.Packet) -> None:
        socket = self.server.eio.sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed:
            return
        queue: asyncio.Queue[Any] = socket.queue
        queue.put_nowait(pkt)
