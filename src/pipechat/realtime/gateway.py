"""The Socket.IO server of one process: construction, lifecycle and ack detection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio
from socketio import packet as sio_packet

from pipechat.context import AppContext
from pipechat.realtime import engineio_writer, sendbuffer
from pipechat.realtime.admission import ConnectDeadline, origin_check
from pipechat.realtime.codec import OrjsonCodec
from pipechat.realtime.frameguard import FrameGuard
from pipechat.realtime.lifetimes import (
    LifetimeManager,
    LifetimeRoomcastManager,
    room_leaver,
    session_ender,
)
from pipechat.realtime.namespace import ACK_WANTED, ChatsNamespace, PendingReply
from pipechat.realtime.publisher import NAMESPACE, RoomPublisher
from pipechat.realtime.transportlog import transport_loggers
from pipechat.realtime.typing import TypingTracker
from pipechat.realtime.upstream import warn_about_changed_internals

# What a socket's WSGI-style environ keeps once its namespace connect is over: the bearer token
# (a later connect on the same engine.io connection reads it again) and a few cheap request
# facts for `get_environ` users. The rest (every header, the ASGI scope, a class engine.io
# defines per request) is about 4-5 KiB per idle socket and nothing reads it any more.
KEPT_ENVIRON_KEYS = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR",
                     "HTTP_AUTHORIZATION")


def slim_environ(environ: dict[str, Any]) -> None:
    """Cut `environ` down to `KEPT_ENVIRON_KEYS`, in place.

    In place because engine.io's suspended request handler holds the same dict for as long as
    a websocket lives; `clear()` also frees the dict's table, which deleting keys would not.
    """
    kept = {key: environ[key] for key in KEPT_ENVIRON_KEYS if key in environ}
    scope = environ.get("asgi.scope")
    if scope is not None:
        # uvicorn keeps the scope for the connection's life; engine.io read its headers
        # into the environ once, at the start, and pipechat serves no other websockets.
        scope["headers"] = []
    environ.clear()
    environ.update(kept)


class ChatServer(FrameGuard, ConnectDeadline):
    """An AsyncServer that tells handlers whether the client asked for an acknowledgement.

    python-socketio hides the ack id from handlers, but the protocol reports a failure through
    the ack when there is one and through `exception` otherwise, exactly once. What a client
    may send and how long it may stay unconnected are `FrameGuard`'s and `ConnectDeadline`'s.
    The private methods overridden here are fingerprinted in `realtime/upstream.py`.
    """

    def __init__(self, *args: Any, send_buffer_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slow_consumers = sendbuffer.SlowConsumers(self.eio, send_buffer_bytes)

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

    def _engineio_server_class(self) -> type:
        return engineio_writer.LeanQueueServer

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        # The engine.io socket exists but its writer has not started: swap in the quick poll,
        # and cap what may wait in its queue.
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None:
            engineio_writer.adopt(socket)
            self.slow_consumers.meter(socket)
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        await super()._handle_connect(eio_sid, namespace, data)
        # The connect handlers have read what they need (the token); the request is over.
        environ = self.environ.get(eio_sid)
        if environ is not None:
            slim_environ(environ)

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
        """Start the client manager (with Redis: listening and publishing) before any request."""
        self.server.manager.initialize()

    async def stop(self) -> None:
        """Publish what is still queued (idempotent; emits still work afterwards)."""
        await self.publisher.stop()

    async def close(self) -> None:
        """Stop listening and publishing, and close the client manager's connections."""
        await self.server.manager.close()


def _client_manager(context: AppContext) -> LifetimeManager:
    settings = context.settings
    if not settings.redis_url:
        return LifetimeManager()
    # Several processes sharing this channel prefix act as one server.
    return LifetimeRoomcastManager(
        settings.redis_url, channel=settings.redis_channel, sharding=settings.redis_sharded,
        outbox_max=settings.redis_outbox_max, timeout=settings.redis_timeout_seconds)


def _session_ended(context: AppContext,
                   namespace: ChatsNamespace) -> Callable[[int], Awaitable[None]]:
    """What every process does when a session is revoked: refuse it, then end its sockets."""

    async def session_ended(session_id: int) -> None:
        context.sessions.end(session_id)
        await namespace.lifetimes.end_session(session_id)

    return session_ended


def build_gateway(context: AppContext) -> Gateway:
    """A Socket.IO server for this process, wired to publish chat events."""
    settings = context.settings
    warn_about_changed_internals()
    manager = _client_manager(context)
    socketio_logger, engineio_logger = transport_loggers(settings.log_level)
    server = ChatServer(
        async_mode="asgi",
        client_manager=manager,
        namespaces=[NAMESPACE],
        # Handlers run in the engine.io reader, in arrival order, without a task per event;
        # none of them waits for long (send_message hands its commit to a PendingReply).
        async_handlers=False,
        cors_allowed_origins=origin_check(settings.cors_origins),
        max_http_buffer_size=settings.max_payload_bytes,
        json=OrjsonCodec,
        logger=socketio_logger,
        engineio_logger=engineio_logger,
        send_buffer_bytes=settings.socket_send_buffer_bytes,
    )
    server.connect_timeout = settings.connect_timeout_seconds
    typing = TypingTracker(manager, settings.typing_timeout_seconds,
                           settings.typing_throttle_seconds)
    namespace = ChatsNamespace(context, typing)
    server.register_namespace(namespace)
    manager.on_session_ended = _session_ended(context, namespace)
    context.end_session_sockets = session_ender(server)
    manager.on_members_left = namespace.members_left
    context.leave_chat_rooms = room_leaver(server)
    publisher = RoomPublisher(server, typing)
    context.publish_to_users = publisher.publish_to_users
    return Gateway(server, publisher)
