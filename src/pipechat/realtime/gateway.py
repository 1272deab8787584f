"""The Socket.IO server of one process: construction, lifecycle and ack detection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import socketio
from socketio import packet as sio_packet

from pipechat.context import AppContext
from pipechat.realtime import engineio_writer
from pipechat.realtime.broadcast import BroadcastManager, BroadcastRedisManager
from pipechat.realtime.codec import OrjsonCodec
from pipechat.realtime.namespace import ACK_WANTED, ChatsNamespace, PendingReply
from pipechat.realtime.publisher import RoomPublisher


class ChatServer(socketio.AsyncServer):  # type: ignore[misc]
    """An AsyncServer that tells handlers whether the client asked for an acknowledgement.

    python-socketio hides the ack id from handlers, but the protocol reports a failure through
    the ack when there is one and through `exception` otherwise, exactly once.
    """

    async def _handle_event_internal(self, server: Any, sid: str, eio_sid: str, data: Any,
                                     namespace: str, id: int | None) -> None:
        # python-socketio's version, except that a PendingReply is answered when it settles.
        token = ACK_WANTED.set(id is not None)
        try:
            result = await server._trigger_event(data[0], namespace, sid, *data[1:])
        finally:
            ACK_WANTED.reset(token)
        if isinstance(result, PendingReply):
            result.future.add_done_callback(
                lambda _done: self._settle(result, sid, eio_sid, namespace, id))
        elif result is not self.not_handled and id is not None:
            self._ack_now(eio_sid, namespace, id, result)

    def _settle(self, reply: PendingReply, sid: str, eio_sid: str, namespace: str,
                id: int | None) -> None:
        handler = self.namespace_handlers[namespace]
        result = handler.settle(sid, reply, wants_ack=id is not None)
        if id is not None:
            self._ack_now(eio_sid, namespace, id, result)

    def _ack_now(self, eio_sid: str, namespace: str, id: int, result: Any) -> None:
        data = [] if result is None else list(result) if isinstance(result, tuple) else [result]
        self.manager.send_now(eio_sid, self.packet_class(sio_packet.ACK, namespace=namespace,
                                                         id=id, data=data))

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        # The engine.io socket exists but its writer has not started: swap in the quick poll.
        engineio_writer.adopt(self.eio.sockets.get(eio_sid))
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        await super()._handle_eio_disconnect(eio_sid, reason)
        # A long-polling client that says goodbye leaves a GET parked until the next ping
        # (25 s), which also holds up a graceful shutdown; wake it so it returns at once.
        # Only then: server-side closes queue a CLOSE packet and wait for it to be read.
        if reason != self.eio.reason.CLIENT_DISCONNECT:
            return
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None and not socket.upgraded:
            socket.queue.put_nowait(None)


@dataclass
class Gateway:
    """The server, its `/chats` namespace and the publisher that feeds its rooms."""

    server: socketio.AsyncServer
    publisher: RoomPublisher

    def start(self) -> None:
        """Start delivering saved messages."""
        self.publisher.start()

    async def stop(self) -> None:
        """Deliver what is still queued, then stop."""
        await self.publisher.stop()


def _client_manager(context: AppContext) -> socketio.AsyncManager:
    settings = context.settings
    if not settings.redis_url:
        return BroadcastManager()
    # Several processes sharing this channel act as one server.
    return BroadcastRedisManager(settings.redis_url, channel=settings.redis_channel)


def build_gateway(context: AppContext) -> Gateway:
    """A Socket.IO server for this process, wired to publish chat events."""
    settings = context.settings
    server = ChatServer(
        async_mode="asgi",
        client_manager=_client_manager(context),
        # Handlers run in the engine.io reader, in arrival order, without a task per event;
        # none of them waits for long (send_message hands its commit to a PendingReply).
        async_handlers=False,
        cors_allowed_origins=settings.cors_origins or [],
        max_http_buffer_size=settings.max_payload_bytes,
        json=OrjsonCodec,
    )
    server.register_namespace(ChatsNamespace(context))
    publisher = RoomPublisher(server)
    context.publish_to_users = publisher.publish_to_users
    return Gateway(server, publisher)
