"""One group-commit batch in SQL: lock the chats, find re-sends, insert, advance the chats.

Written against SQLAlchemy Core's synchronous `Connection` so one function serves both
databases: on SQLite `Database.run_write` runs it whole in the writer thread (one hop per
batch instead of one per statement), on PostgreSQL it runs under `AsyncConnection.run_sync`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table, TextualSelect, bindparam, insert, select, text, update

from pipechat.chats.models import Chat
from pipechat.db import utc_now
from pipechat.messages.models import Message
from pipechat.pagination import owned_by

MESSAGES = cast(Table, Message.__table__)
CHATS = cast(Table, Chat.__table__)

# Core, not ORM: an executemany by a bound id. updated_at is set to itself because a new
# message is not a change to the chat.
_ADVANCE_CHATS = (update(CHATS).where(CHATS.c.id == bindparam("chat_id"))
                  .values(last_message_id=bindparam("newest"), updated_at=CHATS.c.updated_at))
_INSERT_MESSAGES = insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True)


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


def write_batch(connection: Connection, batch: list[PendingMessage]) -> list[SavedMessage]:
    """Save `batch` inside the caller's transaction; one result per pending, in order."""
    latest = lock_chats(connection, sorted({p.chat_id for p in batch}))
    earlier = find_resent(connection, [key for p in batch if (key := p.key) is not None])
    return insert_new(connection, batch, earlier, latest)


def lock_chats(connection: Connection, chat_ids: list[int]) -> dict[int, int | None]:
    """Each chat's newest message id, read while holding the chats' write locks.

    On PostgreSQL the chat rows are locked (in id order, so batches cannot deadlock) before
    ids are drawn; on SQLite the write transaction (BEGIN IMMEDIATE) already excludes writers.
    """
    statement = (select(CHATS.c.id, CHATS.c.last_message_id).where(CHATS.c.id.in_(chat_ids))
                 .order_by(CHATS.c.id))
    if connection.dialect.name != "sqlite":
        statement = statement.with_for_update()
    return {chat_id: newest for chat_id, newest in connection.execute(statement)}


# One index search per key on both databases. SQLite answers a row-value
# `(author_id, client_message_id) IN (...)` by scanning the whole unique index (5.7 ms per
# lookup at 100,000 messages, growing with the table); joining a list of keys to the table
# instead walks the keys and probes the index for each. The keys travel as one parameter
# (a JSON array, or two arrays on PostgreSQL), so the statement text never changes.
_RESENT_TYPES = (MESSAGES.c.id, MESSAGES.c.chat_id, MESSAGES.c.author_id, MESSAGES.c.message,
                 MESSAGES.c.client_message_id, MESSAGES.c.created_at)
_RESENT_COLUMNS = "m.id, m.chat_id, m.author_id, m.message, m.client_message_id, m.created_at"
_RESENT_SQLITE = text(
    f"SELECT {_RESENT_COLUMNS} FROM json_each(:keys) AS k CROSS JOIN messages AS m "
    "WHERE m.author_id = json_extract(k.value, '$[0]') "
    "AND m.client_message_id = json_extract(k.value, '$[1]')").columns(*_RESENT_TYPES)
_RESENT_POSTGRES = text(
    f"SELECT {_RESENT_COLUMNS} FROM unnest(CAST(:authors AS BIGINT[]), "
    "CAST(:client_ids AS VARCHAR[])) AS k(author_id, client_message_id) "
    "JOIN messages AS m ON m.author_id = k.author_id "
    "AND m.client_message_id = k.client_message_id").columns(*_RESENT_TYPES)


def select_resent(dialect: str,
                  keys: list[tuple[int, str]]) -> tuple[TextualSelect, dict[str, Any]]:
    """The statement and parameters that find stored messages under these keys."""
    if dialect == "sqlite":
        return _RESENT_SQLITE, {"keys": orjson.dumps(keys).decode()}
    return _RESENT_POSTGRES, {"authors": [author for author, _ in keys],
                     "client_ids": [client_id for _, client_id in keys]}


def find_resent(connection: Connection,
                keys: list[tuple[int, str]]) -> dict[tuple[int, str], SavedMessage]:
    """Messages already stored under these (author, clientMessageId) keys."""
    if not keys:
        return {}
    statement, parameters = select_resent(connection.dialect.name, keys)
    rows = connection.execute(statement, parameters).all()
    return {(row.author_id, row.client_message_id): SavedMessage(
        row.id, row.chat_id, row.author_id, "", row.message, row.client_message_id,
        row.created_at, created=False, previous_id=_previous_id(connection, row.chat_id, row.id))
        for row in rows}


def _previous_id(connection: Connection, chat_id: int, message_id: int) -> int | None:
    # Only re-sends come here. Ordering by (chat_id, id) keeps PostgreSQL on that index
    # instead of walking the primary key backwards past other chats' messages.
    m = MESSAGES.c
    return connection.scalar(
        select(m.id).where(owned_by(m.chat_id, chat_id, connection.dialect.name),
                           m.id < message_id)
        .order_by(m.chat_id.desc(), m.id.desc()).limit(1))


def insert_new(connection: Connection, batch: list[PendingMessage],
               earlier: dict[tuple[int, str], SavedMessage],
               latest: dict[int, int | None]) -> list[SavedMessage]:
    """Insert what is not a re-send and chain each chat's previousId; results in batch order."""
    now = utc_now()
    fresh: list[PendingMessage] = []
    first_of_key: dict[tuple[int, str], PendingMessage] = {}
    for pending in batch:
        key = pending.key
        if key is None or (key not in earlier and key not in first_of_key):
            fresh.append(pending)
            if key is not None:
                first_of_key[key] = pending
    saved_by_pending: dict[int, SavedMessage] = {}
    if fresh:
        ids = connection.execute(_INSERT_MESSAGES, [
            {"chat_id": p.chat_id, "author_id": p.author_id, "message": p.text,
             "client_message_id": p.client_message_id, "created_at": now, "updated_at": now}
            for p in fresh]).scalars().all()
        for p, new_id in zip(fresh, ids, strict=True):
            saved_by_pending[id(p)] = SavedMessage(
                new_id, p.chat_id, p.author_id, p.author_nickname, p.text,
                p.client_message_id, now, origin=p.origin, previous_id=latest.get(p.chat_id))
            latest[p.chat_id] = new_id
        connection.execute(_ADVANCE_CHATS, [
            {"chat_id": chat_id, "newest": newest}
            for chat_id, newest in latest.items() if newest is not None])
    return [_result_for(p, saved_by_pending, first_of_key, earlier) for p in batch]


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
