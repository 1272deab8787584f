"""Fan-out of saved messages and chat notifications to Socket.IO rooms."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import socketio

from pipechat.logs import describe_error
from pipechat.messages.writer import SavedMessage
from pipechat.metrics import MESSAGES_DELIVERED
from pipechat.realtime.broadcast import BroadcastManager

if TYPE_CHECKING:
    from pipechat.realtime.typing import TypingTracker

log = logging.getLogger("pipechat.realtime")

NAMESPACE = "/chats"
# A Redis that does not answer must not hold a shutdown forever.
STOP_GRACE_SECONDS = 10.0


def user_room(user_id: int) -> str:
    """The private room every socket of a user joins at connect."""
    return f"user:{user_id}"


def chat_room(chat_id: int) -> str:
    """The room of a chat, named by its id as in the seed."""
    return str(chat_id)


class RoomPublisher:
    """Emits `receive_message` for committed messages, in commit order.

    The writer hands over batches synchronously, and each message is delivered at once, in the
    writer's callback: queued on this process's sockets and, with Redis, queued in the client
    manager's outbox for the other processes (`realtime/roomcast/`), which a slow or
    unreachable Redis fills but never blocks. One outbox task keeps each chat's messages in
    id order on the way out.
    """

    def __init__(self, server: socketio.AsyncServer, typing: TypingTracker | None = None) -> None:
        self._server = server
        self._typing = typing
        # The gateway's managers are all BroadcastManagers (realtime/gateway.py).
        self._manager: BroadcastManager = server.manager

    async def stop(self) -> None:
        """Wait until what was delivered is published too (at most `STOP_GRACE_SECONDS`)."""
        await self._manager.flush(STOP_GRACE_SECONDS)

    def on_saved(self, saved: list[SavedMessage]) -> None:
        """The writer's callback: deliver newly committed messages."""
        for message in saved:
            if self._typing is not None:
                # Before the message, so no client shows it under a typing indicator.
                self._typing.message_saved(message.chat_id, message.author_id)
            self._manager.publish_now("receive_message", message.to_wire(), NAMESPACE,
                                      chat_room(message.chat_id), skip_sid=message.origin)
        MESSAGES_DELIVERED.inc(len(saved))

    async def publish_to_users(self, event: str, data: Any, user_ids: list[int],
                               skip_sid: str | None = None) -> None:
        """Emit `event` to every connected socket of these users, but `skip_sid`."""
        if not user_ids:
            return
        try:
            await self._server.emit(event, data, to=[user_room(uid) for uid in user_ids],
                                    skip_sid=skip_sid, namespace=NAMESPACE)
        except Exception as exc:
            # The change is committed already; a lost notification must not fail the request.
            log.error("could not emit %s", event, extra=describe_error(exc))
