"""Saving messages: group commit, idempotent re-sends, ids in commit order per chat."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from pipechat.db import Database, is_data_error
from pipechat.errors import ChatError, ErrorCode, validation_error
from pipechat.groupcommit import GroupCommitter
from pipechat.logs import describe_error
from pipechat.messages.batch import BatchResult, write_batch
from pipechat.messages.saved import PendingMessage, SavedMessage
from pipechat.metrics import BATCH_SECONDS, BATCH_SIZE, MESSAGES_SAVED, SEND_TO_COMMIT

__all__ = ["MessageWriter", "OnSaved", "PendingMessage", "SavedMessage"]

log = logging.getLogger("pipechat.messages")


OnSaved = Callable[[list[SavedMessage]], None]


class MessageWriter(GroupCommitter[PendingMessage]):
    """Saves messages in batches: one transaction and one fsync for everything queued.

    Each batch locks its chats' rows (PostgreSQL) before ids are drawn, so within a chat ids
    are assigned in commit order and a reader catching up with `id > N` never skips one.
    SQLite has one writer at a time, which gives the same order. Futures resolve only after
    commit; `on_saved` is then called with the new messages in id order.
    """

    def __init__(self, db: Database, on_saved: OnSaved | None = None,
                 max_batch: int = 512) -> None:
        super().__init__("writer", max_batch)
        self._db = db
        self._on_saved = on_saved

    def submit(self, chat_id: int, author_id: int, author_nickname: str, text: str,
               client_message_id: str | None, origin: str | None = None,
               reply_to: dict[str, Any] | None = None) -> asyncio.Future[SavedMessage]:
        """Queue a message; the future resolves after its commit. Order of calls is kept.

        `reply_to` is the quote of the message replied to (`access_reply_target`).
        """
        future: asyncio.Future[SavedMessage] = asyncio.get_running_loop().create_future()
        self._enqueue(PendingMessage(chat_id, author_id, author_nickname, text,
                                     client_message_id, future, origin, reply_to))
        return future

    async def _commit(self, batch: list[PendingMessage]) -> None:
        try:
            results = await self._write(batch)
        except Exception as exc:
            if is_data_error(exc):
                # Tied to a message (one user's text, a concurrent re-send, a vanished
                # chat): retry one by one so only the message concerned fails.
                await self._commit_each(batch)
            else:
                # An outage (or a bug) fails everything alike: answer at once, no retries.
                self._fail(batch, exc)
            return
        self._resolve(batch, results)

    async def _commit_each(self, batch: list[PendingMessage]) -> None:
        for index, pending in enumerate(batch):
            try:
                await self._commit_alone(pending)
            except Exception as exc:
                self._fail(batch[index:], exc)
                return

    async def _commit_alone(self, pending: PendingMessage) -> None:
        """One message in its own transaction; raises what is not the message's own fault."""
        for attempt in range(2):
            try:
                results = await self._write([pending])
            except IntegrityError as exc:
                # A concurrent process stored the same clientMessageId: the second attempt
                # finds it as a re-send. Failing twice means the chat or author is gone.
                if attempt == 1:
                    self._fail([pending], exc)
                continue
            except Exception as exc:
                if not is_data_error(exc):
                    raise
                self._refuse(pending, exc)
                return
            self._resolve([pending], results)
            return

    def _fail(self, batch: list[PendingMessage], exc: Exception) -> None:
        log.warning("message batch of %d failed", len(batch), extra=describe_error(exc))
        error = ChatError(ErrorCode.SERVICE_UNAVAILABLE,
                          "the message was not saved (database unavailable), retry")
        for pending in batch:
            if not pending.future.done():
                pending.future.set_exception(error)

    def _refuse(self, pending: PendingMessage, exc: Exception) -> None:
        # Validation refuses such texts first; this is the defence in depth behind it.
        log.warning("a message could not be stored", extra=describe_error(exc))
        if not pending.future.done():
            pending.future.set_exception(
                validation_error("message: this text cannot be stored"))

    def _resolve(self, batch: list[PendingMessage], results: list[BatchResult]) -> None:
        committed_at = time.perf_counter()
        BATCH_SIZE.observe(len(batch))
        for pending, saved in zip(batch, results, strict=True):
            SEND_TO_COMMIT.observe(committed_at - pending.accepted_at)
            if pending.future.done():
                continue
            if isinstance(saved, ChatError):
                pending.future.set_exception(saved)
            else:
                pending.future.set_result(saved)
        fresh = [saved for saved in results if isinstance(saved, SavedMessage) and saved.created]
        MESSAGES_SAVED.inc(len(fresh))
        if fresh and self._on_saved is not None:
            self._on_saved(fresh)

    async def _write(self, batch: list[PendingMessage]) -> list[BatchResult]:
        with BATCH_SECONDS.time():
            return await self._db.run_write(write_batch, batch)
