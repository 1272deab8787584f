"""One group-commit batch in SQL: lock the chats, find re-sends, insert, log, advance the chats.

Written against SQLAlchemy Core's synchronous `Connection` so one function serves both
databases: on SQLite `Database.run_write` runs it whole in the writer thread (one hop per
batch instead of one per statement), on PostgreSQL it runs under `AsyncConnection.run_sync`.
Each new message is also a change in its chat's log (`pipechat.changes`): its `seq` is drawn
under the same chat lock as its id, and one executemany stores the batch's change rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table, TextualSelect, bindparam, insert, select, text, update

from pipechat.changes.service import PG_POSITION, draw_position
from pipechat.chats.models import Chat, chat_members
from pipechat.db import utc_now
from pipechat.errors import ChatError, ErrorCode
from pipechat.messages.models import Message
from pipechat.messages.saved import PendingMessage, SavedMessage
from pipechat.pagination import owned_by

MESSAGES = cast(Table, Message.__table__)
CHATS = cast(Table, Chat.__table__)

# Core, not ORM: an executemany by a bound id. updated_at is set to itself because a new
# message is not a change to the chat's own fields.
_ADVANCE_CHATS = (update(CHATS).where(CHATS.c.id == bindparam("chat_id"))
                  .values(last_message_id=bindparam("newest"), last_seq=bindparam("head_seq"),
                          last_position=bindparam("head_position"),
                          activity=bindparam("newest"), updated_at=CHATS.c.updated_at))
_INSERT_MESSAGES = insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True)
# Each new message's change row, as raw SQL: the one statement the change log adds to a
# batch, executemany'd without SQLAlchemy's per-row parameter processing (~25 us a row).
_LOG_COLUMNS = "chat_id, seq, position, kind, by_user_id, message_id, created_at"
_LOG_MESSAGES = {
    "sqlite": f"INSERT INTO chat_changes ({_LOG_COLUMNS}) VALUES (?, ?, ?, 'message', ?, ?, ?)",
    "postgresql": f"INSERT INTO chat_changes ({_LOG_COLUMNS}) "
                  "VALUES ($1, $2, $3, 'message', $4, $5, $6)",
}


BatchResult = SavedMessage | ChatError


@dataclass(slots=True)
class ChatHead:
    """A locked chat's newest message id and newest change seq, advanced as rows are added."""

    newest: int | None
    seq: int


def write_batch(connection: Connection, batch: list[PendingMessage]) -> list[BatchResult]:
    """Save `batch` inside the caller's transaction; one result per pending, in order.

    A message for a chat that no longer exists gets its error as its result; the others
    are saved.
    """
    locked = lock_chats(connection, sorted({p.chat_id for p in batch}),
                        sorted({p.author_id for p in batch}))
    earlier = find_resent(connection, [key for p in batch if (key := p.key) is not None])
    return insert_new(connection, batch, earlier, locked)


@dataclass(slots=True)
class LockedChats:
    """What a batch reads under its chats' locks.

    `members` are the batch's (chat, author) pairs that are memberships: the gateway checked
    each message's author when it accepted it, but a member removed since (removal takes the
    same chat lock) must not have a message saved after their removal.
    """

    heads: dict[int, ChatHead]
    members: set[tuple[int, int]]
    position: int


_M = chat_members.c
# Built once: SQLAlchemy then reuses each statement's cache key instead of computing it per
# batch. The id lists are expanding parameters.
_HEADS = (select(CHATS.c.id, CHATS.c.last_message_id, CHATS.c.last_seq)
          .where(CHATS.c.id.in_(bindparam("chat_ids", expanding=True))).order_by(CHATS.c.id))
_HEADS_AND_MEMBERS = _HEADS.add_columns(_M.user_id).outerjoin(
    chat_members, (_M.chat_id == CHATS.c.id) & _M.user_id.in_(bindparam("authors",
                                                                          expanding=True)))
_LOCK_HEADS = _HEADS.add_columns(PG_POSITION).with_for_update()
_MEMBERS = select(_M.chat_id, _M.user_id).where(
    _M.chat_id.in_(bindparam("chat_ids", expanding=True)),
    _M.user_id.in_(bindparam("authors", expanding=True)))


def lock_chats(connection: Connection, chat_ids: list[int], authors: list[int]) -> LockedChats:
    """Each chat's head and the authors' memberships, read under the chats' write locks.

    On PostgreSQL the chat rows are locked (in id order, so batches cannot deadlock) before
    ids are drawn, by a statement that also reads the transaction id (the sync position);
    the memberships are read by the next statement, whose snapshot is taken once the locks
    are held (a join in the locking statement could see a membership a removal that held the
    lock had just deleted). On SQLite the write transaction (BEGIN IMMEDIATE) excludes every
    other writer, so one statement reads both.
    """
    ids = {"chat_ids": chat_ids, "authors": authors}
    if connection.dialect.name == "sqlite":
        rows = connection.execute(_HEADS_AND_MEMBERS, ids).all()
        return LockedChats({row[0]: ChatHead(row[1], row[2]) for row in rows},
                           {(row[0], row[3]) for row in rows if row[3] is not None},
                           draw_position(connection))
    locked = connection.execute(_LOCK_HEADS, ids).all()
    members = connection.execute(_MEMBERS, ids).all()
    position = locked[0][3] if locked else draw_position(connection)
    return LockedChats({row[0]: ChatHead(row[1], row[2]) for row in locked},
                       {(row[0], row[1]) for row in members}, int(position))


# One index search per key on both databases. SQLite answers a row-value
# `(author_id, client_message_id) IN (...)` by scanning the whole unique index (5.7 ms per
# lookup at 100,000 messages, growing with the table); joining a list of keys to the table
# instead walks the keys and probes the index for each. The keys travel as one parameter
# (a JSON array, or two arrays on PostgreSQL), so the statement text never changes.
_RESENT_TYPES = (MESSAGES.c.id, MESSAGES.c.chat_id, MESSAGES.c.author_id, MESSAGES.c.message,
                 MESSAGES.c.client_message_id, MESSAGES.c.created_at, MESSAGES.c.seq,
                 MESSAGES.c.edited_at, MESSAGES.c.deleted_at)
_RESENT_COLUMNS = ("m.id, m.chat_id, m.author_id, m.message, m.client_message_id, "
                   "m.created_at, m.seq, m.edited_at, m.deleted_at")
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
        row.created_at, created=False, previous_id=_previous_id(connection, row.chat_id, row.id),
        seq=row.seq, edited_at=row.edited_at, deleted_at=row.deleted_at)
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
               locked: LockedChats) -> list[BatchResult]:
    """Insert what is not a re-send, log it, chain previousId; results in batch order."""
    fresh: list[PendingMessage] = []
    first_of_key: dict[tuple[int, str], PendingMessage] = {}
    refused: dict[int, ChatError] = {}
    for pending in batch:
        key = pending.key
        if key is not None and (key in earlier or key in first_of_key):
            continue
        if pending.chat_id not in locked.heads:
            refused[id(pending)] = ChatError(ErrorCode.CHAT_NOT_FOUND,
                                             f"chat {pending.chat_id} does not exist")
            continue
        if (pending.chat_id, pending.author_id) not in locked.members:
            refused[id(pending)] = ChatError(ErrorCode.NOT_CHAT_MEMBER, "you are not a "
                                             f"member of chat {pending.chat_id}")
            continue
        fresh.append(pending)
        if key is not None:
            first_of_key[key] = pending
    saved_by_pending = _store(connection, fresh, locked.heads, locked.position) if fresh else {}
    return [refused[id(p)] if id(p) in refused
            else _result_for(p, saved_by_pending, first_of_key, earlier) for p in batch]


def _store(connection: Connection, fresh: list[PendingMessage], heads: dict[int, ChatHead],
           position: int) -> dict[int, SavedMessage]:
    """Insert the messages and their change rows, then advance their chats' heads."""
    now = utc_now()
    seqs = [_next_seq(heads[p.chat_id]) for p in fresh]
    ids = connection.execute(_INSERT_MESSAGES, [
        {"chat_id": p.chat_id, "author_id": p.author_id, "message": p.text,
         "client_message_id": p.client_message_id, "created_at": now, "updated_at": now,
         "seq": seq, "reply_to_id": p.reply_to["id"] if p.reply_to else None}
        for p, seq in zip(fresh, seqs, strict=True)]).scalars().all()
    saved: dict[int, SavedMessage] = {}
    for p, new_id, seq in zip(fresh, ids, seqs, strict=True):
        head = heads[p.chat_id]
        saved[id(p)] = SavedMessage(new_id, p.chat_id, p.author_id, p.author_nickname, p.text,
                                    p.client_message_id, now, origin=p.origin,
                                    previous_id=head.newest, seq=seq, reply_to=p.reply_to)
        head.newest = new_id
    _log_messages(connection, list(saved.values()), position, now)
    touched = {p.chat_id for p in fresh}
    connection.execute(_ADVANCE_CHATS, [
        {"chat_id": chat_id, "newest": heads[chat_id].newest, "head_seq": heads[chat_id].seq,
         "head_position": position} for chat_id in sorted(touched)])
    return saved


def _log_messages(connection: Connection, saved: list[SavedMessage], position: int,
                  now: datetime) -> None:
    dialect = connection.dialect.name
    # What UTCDateTime stores on SQLite (naive UTC text); asyncpg takes the aware datetime.
    at: object = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") \
        if dialect == "sqlite" else now
    connection.exec_driver_sql(_LOG_MESSAGES[dialect], [
        (m.chat_id, m.seq, position, m.author_id, m.id, at) for m in saved])


def _next_seq(head: ChatHead) -> int:
    head.seq += 1
    return head.seq


def _result_for(pending: PendingMessage, saved_by_pending: dict[int, SavedMessage],
                first_of_key: dict[tuple[int, str], PendingMessage],
                earlier: dict[tuple[int, str], SavedMessage]) -> SavedMessage:
    if id(pending) in saved_by_pending:
        return saved_by_pending[id(pending)]
    key = pending.key
    assert key is not None  # only keyed messages can be duplicates
    original = earlier.get(key) or saved_by_pending[id(first_of_key[key])]
    return replace(original, author_nickname=pending.author_nickname, created=False,
                   origin=pending.origin, reply_to=pending.reply_to)
