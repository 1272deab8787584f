"""Fan-out of saved messages and chat notifications to Socket.IO rooms."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from socketio.async_pubsub_manager import AsyncPubSubManager

from pipechat.messages.writer import SavedMessage
from pipechat.metrics import MESSAGES_DELIVERED
from pipechat.realtime.broadcast import BroadcastManager

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

    The writer hands over batches synchronously. Through Redis, a queue and one task decouple
    it from the emit path, so a slow or unreachable Redis delays deliveries but never saves,
    and a single consumer keeps each chat's messages in id order. Without Redis an emit only
    queues frames on this process's sockets, so it happens at once, in the writer's callback.
    """

    def __init__(self, server: socketio.AsyncServer) -> None:
        self._server = server
        manager = server.manager
        self._local: BroadcastManager | None = (
            manager if isinstance(manager, BroadcastManager)
            and not isinstance(manager, AsyncPubSubManager) else None)
        self._queue: asyncio.Queue[list[SavedMessage]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the delivery task on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="publisher")

    async def stop(self) -> None:
        """Deliver what is queued (for at most `STOP_GRACE_SECONDS`), then stop."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("gave up delivering %d queued batches", self._queue.qsize())
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    def on_saved(self, saved: list[SavedMessage]) -> None:
        """The writer's callback: deliver newly committed messages, or queue them for Redis."""
        if self._local is None:
            self._queue.put_nowait(saved)
            return
        for message in saved:
            self._local.emit_now("receive_message", message.to_wire(), NAMESPACE,
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
        except Exception:
            # The change is committed already; a lost notification must not fail the request.
            log.exception("could not emit %s", event)

    async def _run(self) -> None:
        while True:
            batch = await self._queue.get()
            try:
                for message in batch:
                    await self._deliver(message)
            finally:
                self._queue.task_done()

    async def _deliver(self, message: SavedMessage) -> None:
        try:
            await self._server.emit("receive_message", message.to_wire(),
                                    to=chat_room(message.chat_id), skip_sid=message.origin,
                                    namespace=NAMESPACE)
            MESSAGES_DELIVERED.inc()
        except Exception:
            log.exception("could not deliver message %d", message.id)
