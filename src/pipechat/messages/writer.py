"""Saving messages: group commit, idempotent re-sends, ids in commit order per chat."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.chats.models import Chat
from pipechat.db import Database, utc_now
from pipechat.errors import ChatError, ErrorCode
from pipechat.messages.models import Message
from pipechat.metrics import BATCH_SIZE, MESSAGES_SAVED, SEND_TO_COMMIT
from pipechat.pagination import owned_by

log = logging.getLogger("pipechat.messages")


@dataclass(frozen=True, slots=True)
class SavedMessage:
    """A committed message; `created` is False when a re-send matched an earlier one."""

    id: int
    chat_id: int
    author_id: int
    author_nickname: str
    message: str
    client_message_id: str | None
    created_at: datetime
    created: bool = True
    # Opaque tag of whoever submitted it (the gateway puts the sender's socket id here).
    origin: str | None = None
    # The chat's message before this one (null for the first): lets a client spot a gap in
    # what it received live and fill it from history.
    previous_id: int | None = None

    def to_wire(self) -> dict[str, Any]:
        """The camelCase object of `receive_message` and the send acknowledgement."""
        return {
            "id": self.id,
            "chatId": self.chat_id,
            "message": self.message,
            "clientMessageId": self.client_message_id,
            "author": {"id": self.author_id, "nickname": self.author_nickname},
            "createdAt": self.created_at.isoformat().replace("+00:00", "Z"),
            "previousId": self.previous_id,
        }


@dataclass(slots=True)
class PendingMessage:
    """A message waiting for the next group commit."""

    chat_id: int
    author_id: int
    author_nickname: str
    text: str
    client_message_id: str | None
    future: asyncio.Future[SavedMessage] = field(repr=False)
    origin: str | None = None
    accepted_at: float = field(default_factory=time.perf_counter)

    @property
    def key(self) -> tuple[int, str] | None:
        """The idempotency key, when the client gave one."""
        if self.client_message_id is None:
            return None
        return (self.author_id, self.client_message_id)


OnSaved = Callable[[list[SavedMessage]], None]


class MessageWriter:
    """Saves messages in batches: one transaction and one fsync for everything queued.

    Each batch locks its chats' rows (PostgreSQL) before ids are drawn, so within a chat ids
    are assigned in commit order and a reader catching up with `id > N` never skips one.
    SQLite has one writer at a time, which gives the same order. Futures resolve only after
    commit; `on_saved` is then called with the new messages in id order.
    """

    def __init__(self, db: Database, on_saved: OnSaved | None = None,
                 max_batch: int = 512) -> None:
        self._db = db
        self._on_saved = on_saved
        self._max_batch = max_batch
        self._queue: asyncio.Queue[PendingMessage] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        """Start the background committer on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="writer")

    async def stop(self) -> None:
        """Refuse new messages, commit everything already accepted, then stop."""
        self._closing = True
        await self._queue.join()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def submit(self, chat_id: int, author_id: int, author_nickname: str, text: str,
               client_message_id: str | None,
               origin: str | None = None) -> asyncio.Future[SavedMessage]:
        """Queue a message; the future resolves after its commit. Order of calls is kept."""
        if self._closing:
            raise ChatError(ErrorCode.SERVICE_UNAVAILABLE, "the server is shutting down")
        future: asyncio.Future[SavedMessage] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(PendingMessage(chat_id, author_id, author_nickname, text,
                                              client_message_id, future, origin))
        return future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[PendingMessage]) -> None:
        try:
            results = await self._write(batch)
        except IntegrityError:
            # A concurrent process stored the same clientMessageId (or a row vanished);
            # retry one by one so only the message concerned takes the slow path.
            for pending in batch:
                await self._commit_alone(pending)
            return
        except Exception as exc:
            self._fail(batch, exc)
            return
        self._resolve(batch, results)

    async def _commit_alone(self, pending: PendingMessage) -> None:
        for attempt in range(2):
            try:
                results = await self._write([pending])
            except IntegrityError as exc:
                if attempt == 1:
                    self._fail([pending], exc)
                continue
            except Exception as exc:
                self._fail([pending], exc)
                return
            self._resolve([pending], results)
            return

    def _fail(self, batch: list[PendingMessage], exc: Exception) -> None:
        log.warning("message batch of %d failed: %s", len(batch), type(exc).__name__,
                    exc_info=exc)
        error = ChatError(ErrorCode.SERVICE_UNAVAILABLE,
                          "the message was not saved (database unavailable), retry")
        for pending in batch:
            if not pending.future.done():
                pending.future.set_exception(error)

    def _resolve(self, batch: list[PendingMessage], results: list[SavedMessage]) -> None:
        committed_at = time.perf_counter()
        BATCH_SIZE.observe(len(batch))
        for pending, saved in zip(batch, results, strict=True):
            SEND_TO_COMMIT.observe(committed_at - pending.accepted_at)
            if not pending.future.done():
                pending.future.set_result(saved)
        fresh = [saved for saved in results if saved.created]
        MESSAGES_SAVED.inc(len(fresh))
        if fresh and self._on_saved is not None:
            self._on_saved(fresh)

    async def _write(self, batch: list[PendingMessage]) -> list[SavedMessage]:
        async with self._db.write() as session:
            latest = await self._lock_chats(session, sorted({p.chat_id for p in batch}))
            keys = [key for pending in batch if (key := pending.key) is not None]
            earlier: dict[tuple[int, str], SavedMessage] = {}
            if keys:
                rows = await session.scalars(select(Message).where(
                    tuple_(Message.author_id, Message.client_message_id).in_(keys)))
                for row in rows:
                    earlier[(row.author_id, row.client_message_id or "")] = SavedMessage(
                        row.id, row.chat_id, row.author_id, "", row.message,
                        row.client_message_id, row.created_at, created=False,
                        previous_id=await self._previous_id(session, row))
            return await self._insert_new(session, batch, earlier, latest)

    async def _lock_chats(self, session: AsyncSession,
                          chat_ids: list[int]) -> dict[int, int | None]:
        """Each chat's newest message id, read while holding the chats' write locks.

        On PostgreSQL the chat rows are locked (in id order, so batches cannot deadlock)
        before ids are drawn; on SQLite the write transaction already excludes other writers.
        """
        statement = (select(Chat.id, Chat.last_message_id).where(Chat.id.in_(chat_ids))
                     .order_by(Chat.id))
        if not self._db.is_sqlite:
            statement = statement.with_for_update(of=Chat)
        return {chat_id: newest for chat_id, newest in await session.execute(statement)}

    @staticmethod
    async def _previous_id(session: AsyncSession, row: Message) -> int | None:
        # Only re-sends come here. Ordering by (chat_id, id) keeps PostgreSQL on that index
        # instead of walking the primary key backwards past other chats' messages.
        dialect = session.get_bind().dialect.name
        return await session.scalar(
            select(Message.id).where(owned_by(Message.chat_id, row.chat_id, dialect),
                                     Message.id < row.id)
            .order_by(Message.chat_id.desc(), Message.id.desc()).limit(1))

    async def _insert_new(self, session: AsyncSession, batch: list[PendingMessage],
                          earlier: dict[tuple[int, str], SavedMessage],
                          latest: dict[int, int | None]) -> list[SavedMessage]:
        now = utc_now()
        fresh: list[PendingMessage] = []
        first_of_key: dict[tuple[int, str], PendingMessage] = {}
        for pending in batch:
            key = pending.key
            if key is None or (key not in earlier and key not in first_of_key):
                fresh.append(pending)
                if key is not None:
                    first_of_key[key] = pending
        ids: list[int] = []
        if fresh:
            result = await session.execute(
                insert(Message).returning(Message.id, sort_by_parameter_order=True),
                [{"chat_id": p.chat_id, "author_id": p.author_id, "message": p.text,
                  "client_message_id": p.client_message_id, "created_at": now,
                  "updated_at": now} for p in fresh],
            )
            ids = list(result.scalars().all())
        saved_by_pending: dict[int, SavedMessage] = {}
        for p, new_id in zip(fresh, ids, strict=True):
            saved_by_pending[id(p)] = SavedMessage(
                new_id, p.chat_id, p.author_id, p.author_nickname, p.text, p.client_message_id,
                now, origin=p.origin, previous_id=latest.get(p.chat_id))
            latest[p.chat_id] = new_id
        if fresh:
            # Core, not ORM: an executemany by a bound id. updated_at is set to itself because
            # a new message is not a change to the chat.
            chats = cast(Table, Chat.__table__)
            await session.execute(
                update(chats).where(chats.c.id == bindparam("chat_id"))
                .values(last_message_id=bindparam("newest"), updated_at=chats.c.updated_at),
                [{"chat_id": chat_id, "newest": newest}
                 for chat_id, newest in latest.items() if newest is not None])
        return [self._result_for(p, saved_by_pending, first_of_key, earlier) for p in batch]

    @staticmethod
    def _result_for(pending: PendingMessage, saved_by_pending: dict[int, SavedMessage],
                    first_of_key: dict[tuple[int, str], PendingMessage],
                    earlier: dict[tuple[int, str], SavedMessage]) -> SavedMessage:
        if id(pending) in saved_by_pending:
            return saved_by_pending[id(pending)]
        key = pending.key
        assert key is not None  # only keyed messages can be duplicates
        original = earlier.get(key) or saved_by_pending[id(first_of_key[key])]
        return replace(original, author_nickname=pending.author_nickname, created=False,
                       origin=pending.origin)
