"""Fan-out of saved messages and chat notifications to Socket.IO rooms."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from pipechat.messages.writer import SavedMessage
from pipechat.metrics import MESSAGES_DELIVERED

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
    """Emits `receive_message` for committed messages, in commit order, from one task.

    The writer hands over batches synchronously; a queue decouples it from the emit path, so
    a slow or unreachable Redis delays deliveries but never saves, and a single consumer keeps
    each chat's messages in id order.
    """

    def __init__(self, server: socketio.AsyncServer) -> None:
        self._server = server
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
        """The writer's callback: queue newly committed messages for delivery."""
        self._queue.put_nowait(saved)

    async def publish_to_users(self, event: str, data: Any, user_ids: list[int]) -> None:
        """Emit `event` to every connected socket of these users."""
        if not user_ids:
            return
        try:
            await self._server.emit(event, data, to=[user_room(uid) for uid in user_ids],
                                    namespace=NAMESPACE)
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
