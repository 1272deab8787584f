"""Sockets end with their access token, and with their session.

A socket ends at the expiry of the last access token it presented (`authenticate` moves it):
it is told why (`exception`, code 111) and disconnected. No task and no timer per socket: the
sockets due in one second share a `loop.call_at` handle.

A revoked session (logout, a reused refresh token) ends its sockets on every process: an
internal emit to the whole namespace takes the client manager's usual path (with several
processes, python-socketio's JSON message on the namespace's Redis channel), and at local
delivery each process's manager ends its own sockets of that session instead of sending
anything. Users who leave a chat have
their sockets taken out of its room the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import socketio

from pipechat.errors import ChatError, ErrorCode
from pipechat.logs import describe_error
from pipechat.realtime.broadcast import BroadcastManager
from pipechat.realtime.connection import Connection
from pipechat.realtime.publisher import NAMESPACE
from pipechat.realtime.roomcast.manager import RoomcastManager

log = logging.getLogger("pipechat.realtime")

# An internal emit: delivered to no client, it ends the sockets of `{"sessionId": id}`.
SESSION_ENDED = "pipechat:session-ended"
# Another: `{"chatId": id, "userIds": [...]}` left the chat; their sockets leave its room.
MEMBERS_LEFT = "pipechat:members-left"

EndSocket = Callable[[str, ChatError], Coroutine[Any, Any, None]]


class LifetimeManager(BroadcastManager):
    """A client manager whose local delivery of `SESSION_ENDED` ends sockets."""

    on_session_ended: Callable[[int], Awaitable[None]] | None = None
    on_members_left: Callable[[int, list[int]], Awaitable[None]] | None = None

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> None:
        """Emit as `BroadcastManager` does, except the internal events."""
        if event == MEMBERS_LEFT:
            await self._members_left(data)
            return
        if event != SESSION_ENDED:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                               callback=callback, to=to, **kwargs)
            return
        session_id = data.get("sessionId") if isinstance(data, dict) else None
        if isinstance(session_id, int) and self.on_session_ended is not None:
            await self.on_session_ended(session_id)

    async def _members_left(self, data: Any) -> None:
        chat_id = data.get("chatId") if isinstance(data, dict) else None
        user_ids = data.get("userIds") if isinstance(data, dict) else None
        if isinstance(chat_id, int) and isinstance(user_ids, list) \
                and self.on_members_left is not None:
            await self.on_members_left(chat_id, [uid for uid in user_ids if isinstance(uid, int)])


class LifetimeRoomcastManager(RoomcastManager, LifetimeManager):
    """The Redis manager; its internal events reach `LifetimeManager.emit` on every process."""

    internal_events = frozenset({SESSION_ENDED, MEMBERS_LEFT})


def session_ender(server: socketio.AsyncServer) -> Callable[[int], Awaitable[None]]:
    """What the auth domain calls to disconnect a revoked session's sockets everywhere."""

    async def end_session_sockets(session_id: int) -> None:
        try:
            await server.emit(SESSION_ENDED, {"sessionId": session_id}, namespace=NAMESPACE)
        except Exception as exc:
            # The revocation is committed: its sockets still go at their token's expiry.
            log.error("could not end the sockets of a revoked session", extra=describe_error(exc))

    return end_session_sockets


def room_leaver(server: socketio.AsyncServer) -> Callable[[int, list[int]], Awaitable[None]]:
    """What the chats domain calls to take users' sockets out of a chat's room everywhere."""

    async def leave_chat_rooms(chat_id: int, user_ids: list[int]) -> None:
        try:
            await server.emit(MEMBERS_LEFT, {"chatId": chat_id, "userIds": user_ids},
                              namespace=NAMESPACE)
        except Exception as exc:
            # Committed already; their sends and entries are refused by the database anyway.
            log.error("could not take the sockets of departed members out of a room",
                      extra=describe_error(exc))

    return leave_chat_rooms


class SocketLifetimes:
    """Ends this process's sockets at their token's expiry, or when their session is revoked.

    Expiries are whole seconds (JWT `exp`), so sockets due in the same second share one timer:
    a list of sids per second and one `loop.call_at` handle per list. A socket that renewed
    its token stays in its old list until that fires, and is skipped then.
    """

    def __init__(self, connections: dict[str, Connection], end_socket: EndSocket) -> None:
        self._connections = connections
        self._end_socket = end_socket
        self._due: dict[int, list[str]] = {}
        self._ending: set[asyncio.Task[None]] = set()

    def watch(self, sid: str, connection: Connection, expires_at: int) -> None:
        """End the socket at `expires_at` (Unix seconds), replacing any earlier deadline."""
        connection.expires_at = expires_at
        due = self._due.get(expires_at)
        if due is None:
            due = self._due[expires_at] = []
            self._arm(expires_at)
        due.append(sid)

    def _arm(self, second: int) -> None:
        loop = asyncio.get_running_loop()
        loop.call_at(loop.time() + (second - time.time()), self._expired, second)

    async def end_session(self, session_id: int) -> None:
        """End this process's sockets of a revoked session (code 114)."""
        error = ChatError(ErrorCode.SESSION_REVOKED, "the session was logged out; log in again")
        # A scan, not an index per session: revocations are rare, sockets are many.
        await self._end([sid for sid, c in self._connections.items()
                         if c.session_id == session_id], error)

    def _expired(self, second: int) -> None:
        if time.time() < second:
            # The loop's monotonic clock ran ahead of the wall clock that JWTs use.
            self._arm(second)
            return
        sids = [sid for sid in self._due.pop(second, ())
                if (c := self._connections.get(sid)) is not None and c.expires_at <= second]
        if not sids:
            return
        error = ChatError(ErrorCode.TOKEN_EXPIRED,
                          "the access token has expired: send `authenticate` with a fresh one "
                          "before it does, or reconnect with one")
        # A task only when sockets are ending: disconnecting is a coroutine.
        task = asyncio.get_running_loop().create_task(self._end(sids, error))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def _end(self, sids: list[str], error: ChatError) -> None:
        for sid in sids:
            await self._end_socket(sid, error)
