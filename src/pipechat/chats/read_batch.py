"""One batch of read marks in SQL: three reads, then at most one UPDATE executemany.

Synchronous Core code for `Database.run_write` (as the message batch): on SQLite the whole
batch runs in the writer thread in one hop. Each mark is checked on its own (100, 101, 145),
so one caller's mistake is that caller's answer only. Marks of one member in one batch
coalesce: the highest valid one wins and every such caller is answered with the marker as it
is after the batch, which is what they would see had the marks arrived highest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Connection, Table, bindparam, select, update

from pipechat.changes.service import draw_position
from pipechat.chats.models import Chat, chat_members
from pipechat.chats.schemas import ReadMarker
from pipechat.errors import ChatError, ErrorCode
from pipechat.messages.models import Message

CHATS = cast(Table, Chat.__table__)
MESSAGES = cast(Table, Message.__table__)
M = chat_members.c

# Built once, so SQLAlchemy reuses each statement's compiled form; the id lists expand.
_HEADS = select(CHATS.c.id, CHATS.c.last_seq).where(
    CHATS.c.id.in_(bindparam("chat_ids", expanding=True)))
# Every member of the batch's chats: the marks' memberships and the `read` recipients at once.
_MEMBERS = select(M.chat_id, M.user_id, M.last_read_message_id).where(
    M.chat_id.in_(bindparam("chat_ids", expanding=True)))
_MESSAGES = select(MESSAGES.c.id, MESSAGES.c.chat_id).where(
    MESSAGES.c.id.in_(bindparam("message_ids", expanding=True)))
# Forward only in SQL too: another process may have moved the marker since it was read.
_MOVE = update(chat_members).where(
    M.chat_id == bindparam("cid"), M.user_id == bindparam("uid"),
    (M.last_read_message_id.is_(None)) | (M.last_read_message_id < bindparam("newest"))).values(
    last_read_message_id=bindparam("newest"), member_position=bindparam("position"))


@dataclass(frozen=True, slots=True)
class Mark:
    """One caller's request: move `user_id`'s marker in `chat_id` to `message_id`."""

    chat_id: int
    user_id: int
    message_id: int
    origin: str | None = None


@dataclass(slots=True)
class MarkedBatch:
    """A batch's outcome: one answer per mark, in order, and the markers that moved.

    `moved` pairs each moved marker with the chat's members (its recipients) and the socket
    that asked for the winning mark (which already knows, from its ack).
    """

    answers: list[ReadMarker | ChatError]
    moved: list[tuple[ReadMarker, list[int], str | None]] = field(default_factory=list)


@dataclass(slots=True)
class _State:
    """What a batch reads: chat seqs, every member's marker, the named messages' chats."""

    seqs: dict[int, int]
    members: dict[int, list[int]]
    current: dict[tuple[int, int], int | None]
    found: dict[int, int]


def _read_state(connection: Connection, marks: list[Mark]) -> _State:
    chat_ids = sorted({mark.chat_id for mark in marks})
    seqs = {row[0]: int(row[1]) for row in connection.execute(_HEADS, {"chat_ids": chat_ids})}
    members: dict[int, list[int]] = {}
    current: dict[tuple[int, int], int | None] = {}
    for chat_id, user_id, last_read in connection.execute(_MEMBERS, {"chat_ids": chat_ids}):
        members.setdefault(chat_id, []).append(user_id)
        current[(chat_id, user_id)] = last_read
    found = {row[0]: row[1] for row in connection.execute(_MESSAGES, {
        "message_ids": sorted({mark.message_id for mark in marks})})}
    return _State(seqs, members, current, found)


def write_marks(connection: Connection, marks: list[Mark]) -> MarkedBatch:
    """Check every mark, move each member's marker once (forward only), in this transaction."""
    state = _read_state(connection, marks)
    checked = [_check(mark, state) for mark in marks]
    wanted: dict[tuple[int, int], Mark] = {}
    for mark, error in zip(marks, checked, strict=True):
        key = (mark.chat_id, mark.user_id)
        if error is None and (key not in wanted or wanted[key].message_id < mark.message_id):
            wanted[key] = mark
    winners = {key: mark for key, mark in wanted.items()
               if (state.current[key] or 0) < mark.message_id}
    if winners:
        position = draw_position(connection)
        # In (chat, user) order, so two processes' batches cannot deadlock on PostgreSQL.
        connection.execute(_MOVE, [
            {"cid": cid, "uid": uid, "newest": mark.message_id, "position": position}
            for (cid, uid), mark in sorted(winners.items())])
    markers = {key: ReadMarker(
        chat_id=key[0], user_id=key[1], seq=state.seqs[key[0]],
        last_read_message_id=max(mark.message_id, state.current[key] or 0))
        for key, mark in wanted.items()}
    return MarkedBatch(
        [error or markers[(mark.chat_id, mark.user_id)] for mark, error in zip(
            marks, checked, strict=True)],
        [(markers[key], state.members[key[0]], mark.origin) for key, mark in winners.items()])


def _check(mark: Mark, state: _State) -> ChatError | None:
    """The mark's refusal, in the order every chat action checks: 100, 101, then 145."""
    if mark.chat_id not in state.seqs:
        return ChatError(ErrorCode.CHAT_NOT_FOUND, f"chat {mark.chat_id} does not exist")
    if (mark.chat_id, mark.user_id) not in state.current:
        return ChatError(ErrorCode.NOT_CHAT_MEMBER,
                         f"you are not a member of chat {mark.chat_id}")
    if state.found.get(mark.message_id) != mark.chat_id:
        return ChatError(ErrorCode.MESSAGE_NOT_FOUND,
                         f"chat {mark.chat_id} has no message {mark.message_id}")
    return None
