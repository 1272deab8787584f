"""The Socket.IO server of one process: construction, lifecycle and ack detection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import socketio

from pipechat.context import AppContext
from pipechat.realtime.codec import OrjsonCodec
from pipechat.realtime.namespace import ACK_WANTED, ChatsNamespace
from pipechat.realtime.publisher import RoomPublisher


class ChatServer(socketio.AsyncServer):  # type: ignore[misc]
    """An AsyncServer that tells handlers whether the client asked for an acknowledgement.

    python-socketio hides the ack id from handlers, but the protocol reports a failure through
    the ack when there is one and through `exception` otherwise, exactly once.
    """

    async def _handle_event_internal(self, server: Any, sid: str, eio_sid: str, data: Any,
                                     namespace: str, id: int | None) -> None:
        token = ACK_WANTED.set(id is not None)
        try:
            await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
        finally:
            ACK_WANTED.reset(token)

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


def _client_manager(context: AppContext) -> socketio.AsyncManager | None:
    settings = context.settings
    if not settings.redis_url:
        return None
    # Several processes sharing this channel act as one server.
    return socketio.AsyncRedisManager(settings.redis_url, channel=settings.redis_channel)


def build_gateway(context: AppContext) -> Gateway:
    """A Socket.IO server for this process, wired to publish chat events."""
    settings = context.settings
    server = ChatServer(
        async_mode="asgi",
        client_manager=_client_manager(context),
        cors_allowed_origins=settings.cors_origins or [],
        max_http_buffer_size=settings.max_payload_bytes,
        json=OrjsonCodec,
    )
    server.register_namespace(ChatsNamespace(context))
    publisher = RoomPublisher(server)
    context.publish_to_users = publisher.publish_to_users
    return Gateway(server, publisher)
