"""Writing the change log: sync positions, and numbering a chat's changes under its row lock.

A change's `seq` is drawn while its transaction holds the chat's row lock (the lock that also
orders message ids), so within a chat seqs are committed in order: a reader that has seq N can
ask for `seq > N` and never skip one. `GET /sync` needs more: which changes, across all of a
user's chats, were not yet visible when its token was made. So each change also records the
sync position of its transaction. On PostgreSQL that is the transaction id, and a token is
the reader's snapshot (its `xmax` and in-progress ids): a change is new to the token exactly
when its transaction was not yet committed in that snapshot. SQLite has one writer at a
time; there the position is a counter each write transaction bumps (`sync_clock`), and a
token is the counter's next value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from pipechat.changes.models import ChatChange, SyncClock
from pipechat.chats.models import Chat
from pipechat.db import utc_now

CHANGES: Table = ChatChange.__table__  # type: ignore[assignment]
CLOCK: Table = SyncClock.__table__  # type: ignore[assignment]
CHATS: Table = Chat.__table__  # type: ignore[assignment]

# The writing transaction's id: assigned on first use, the same for all its statements.
PG_POSITION: ColumnElement[int] = literal_column("pg_current_xact_id()::text::bigint")
# Raw SQL: it runs in every SQLite message batch, and the statement never changes.
_TICK = "UPDATE sync_clock SET position = position + 1 WHERE id = 1 RETURNING position"
_PG_TOKEN = text(
    "SELECT pg_snapshot_xmax(s)::text::bigint AS xmax, "
    "ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x ORDER BY 1) AS xip "
    "FROM pg_current_snapshot() AS s")
_MAX_POSITION = 2**63 - 1
# A snapshot lists the transactions in progress; past this many a token is coarsened instead
# (`SyncToken.bounded`), so that a token always fits in a URL.
MAX_TOKEN_IN_PROGRESS = 40
MAX_TOKEN_LENGTH = 20 * (MAX_TOKEN_IN_PROGRESS + 1)
TOKEN_PATTERN = r"^[0-9]{1,19}(\.[0-9]{1,19})*$"
_TOKEN = re.compile(TOKEN_PATTERN)


@dataclass(frozen=True, slots=True)
class SyncToken:
    """What a reader had seen: every change of a transaction below `xmax` and not in `xip`."""

    xmax: int
    xip: tuple[int, ...] = ()

    def encode(self) -> str:
        """The opaque text handed to clients."""
        return ".".join(str(value) for value in (self.xmax, *self.xip))

    @classmethod
    def decode(cls, value: str) -> SyncToken:
        """Parse a client's token; ValueError if it is not one this server could have made."""
        if len(value) > MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(value):
            raise ValueError("not a sync token")
        xmax, *xip = (int(part) for part in value.split("."))
        if xmax > _MAX_POSITION or any(x >= xmax for x in xip) or xip != sorted(set(xip)):
            raise ValueError("not a sync token")
        return cls(xmax, tuple(xip))

    def bounded(self) -> SyncToken:
        """This token, or with too many transactions in progress an older one without any.

        Older is safe: a change seen twice is skipped by its seq, a change missed is not.
        """
        if len(self.xip) <= MAX_TOKEN_IN_PROGRESS:
            return self
        return SyncToken(self.xip[0])

    def is_new(self, position: int) -> bool:
        """Whether a change at `position` was not yet visible to this token's reader."""
        return position >= self.xmax or position in self.xip

    def new(self, column: Any) -> ColumnElement[bool]:
        """SQL for `is_new` on a position column."""
        condition: ColumnElement[bool] = column >= self.xmax
        if self.xip:
            condition = condition | column.in_(self.xip)
        return condition


# Every change is new to a client that has seen nothing.
BEGINNING = SyncToken(0)


async def read_token(session: AsyncSession) -> SyncToken:
    """The token of the session's snapshot (`Database.snapshot`): everything it can see."""
    if session.get_bind().dialect.name == "sqlite":
        position = int(await session.scalar(select(CLOCK.c.position)) or 0)
        return SyncToken(position + 1)
    row = (await session.execute(_PG_TOKEN)).one()
    return SyncToken(int(row.xmax), tuple(int(x) for x in row.xip)).bounded()


def draw_position(connection: Connection) -> int:
    """The sync position of the current write transaction (the same on every call in it)."""
    if connection.dialect.name == "sqlite":
        # One writer at a time: bump once per transaction. The caller calls this once.
        return int(connection.exec_driver_sql(_TICK).scalar_one())
    return int(connection.execute(select(PG_POSITION)).scalar_one())


@dataclass(frozen=True, slots=True)
class NewChange:
    """A change to record: its kind, who made it, and what the client needs to replay it."""

    kind: str
    by: int | None
    payload: dict[str, Any] | None = None
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    """Changes appended to one chat: their seqs (in order) and their transaction's position."""

    chat_id: int
    seqs: list[int]
    position: int

    @property
    def last_seq(self) -> int:
        """The seq of the last change appended."""
        return self.seqs[-1]


async def lock_chat(session: AsyncSession, chat_id: int) -> Chat | None:
    """The chat, its row locked until commit (on SQLite the write transaction is the lock)."""
    chat: Chat | None = await session.scalar(
        select(Chat).where(Chat.id == chat_id).with_for_update()
        .execution_options(populate_existing=True))
    return chat


async def append_changes(session: AsyncSession, chat: Chat, changes: Sequence[NewChange],
                         position: int | None = None) -> Recorded:
    """Number `changes` after the chat's last one and store them; `chat` must be locked.

    The chat's `updatedAt` is left alone: callers that change the chat's own fields (its
    name, its members) set it themselves, a message does not.
    """
    if position is None:
        position = await session_position(session)
    now = utc_now()
    first = chat.last_seq + 1
    last = first + len(changes) - 1
    await session.execute(insert(CHANGES), [
        {"chat_id": chat.id, "seq": first + i, "position": position, "kind": change.kind,
         "by_user_id": change.by, "message_id": change.message_id,
         "payload": change.payload, "created_at": now}
        for i, change in enumerate(changes)])
    await session.execute(update(CHATS).where(CHATS.c.id == chat.id).values(
        last_seq=last, last_position=position, updated_at=CHATS.c.updated_at))
    set_committed_value(chat, "last_seq", last)
    set_committed_value(chat, "last_position", position)
    return Recorded(chat.id, list(range(first, last + 1)), position)


async def session_position(session: AsyncSession) -> int:
    """`draw_position` for an ORM session's transaction. Call it once per transaction."""
    return await session.run_sync(lambda sync: draw_position(sync.connection()))
