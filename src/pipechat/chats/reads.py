"""Read markers: each member's newest read message, which only moves forward.

A read is not a change to the chat (it would flood the log: every member reads every
message), so it takes no chat lock and draws no seq. It does move the member's own sync
position, so the reader's other devices learn it from `GET /sync`.

Marks are frequent (every member reads every message) and each is tiny, so they are group
committed like messages: what arrives while a batch is being written goes into the next
one, a single write transaction (`read_batch.write_marks`) whatever its size.
"""

from __future__ import annotations

import asyncio
import logging

from pipechat.chats.read_batch import Mark, MarkedBatch, write_marks
from pipechat.chats.schemas import ReadMarker
from pipechat.context import AppContext, Publisher
from pipechat.db import Database
from pipechat.errors import ChatError, ErrorCode
from pipechat.groupcommit import GroupCommitter
from pipechat.logs import describe_error

__all__ = ["Mark", "ReadWriter", "mark_read", "submit_mark"]

log = logging.getLogger("pipechat.chats")

_Queued = tuple[Mark, "asyncio.Future[ReadMarker]"]


class ReadWriter(GroupCommitter[_Queued]):
    """Writes queued marks in batches, then publishes `read` and answers each caller.

    Committed, then published, then answered: a caller's ack never precedes the event the
    other members get.
    """

    def __init__(self, db: Database, publish: Publisher, max_batch: int = 512) -> None:
        super().__init__("reads", max_batch)
        self._db = db
        self._publish = publish

    def submit(self, mark: Mark) -> asyncio.Future[ReadMarker]:
        """Queue a mark; the future settles once it is committed and published."""
        future: asyncio.Future[ReadMarker] = asyncio.get_running_loop().create_future()
        self._enqueue((mark, future))
        return future

    async def _commit(self, batch: list[_Queued]) -> None:
        try:
            done: MarkedBatch = await self._db.run_write(write_marks, [m for m, _ in batch])
        except Exception as exc:
            # Every mark was checked in Python, so what fails here fails them all alike.
            log.warning("read batch of %d failed", len(batch), extra=describe_error(exc))
            error = ChatError(ErrorCode.SERVICE_UNAVAILABLE,
                              "the read marker was not saved (database unavailable), retry")
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for marker, members, origin in done.moved:
            await self._publish(
                "read", marker.model_dump(mode="json", by_alias=True), members, skip_sid=origin)
        for (_, future), answer in zip(batch, done.answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, ChatError):
                future.set_exception(answer)
            else:
                future.set_result(answer)


def submit_mark(context: AppContext, chat_id: int, user_id: int, message_id: int,
                origin: str | None = None) -> asyncio.Future[ReadMarker]:
    """Queue a mark of `message_id` read; the future settles with the member's marker.

    `origin` is the socket that asked, which already knows: it is skipped.
    """
    writer = context.read_writer
    if writer is None:
        raise ChatError(ErrorCode.SERVICE_UNAVAILABLE, "the server is not ready, retry")
    return writer.submit(Mark(chat_id, user_id, message_id, origin))


async def mark_read(context: AppContext, chat_id: int, user_id: int, message_id: int,
                    origin: str | None = None) -> ReadMarker:
    """Move the member's marker to `message_id` (never back); `read` goes to the others."""
    return await submit_mark(context, chat_id, user_id, message_id, origin)
