"""Read marks group-committed: several callers in one batch, each with its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from messages.test_writer import make_chat
from pipechat.changes.service import draw_position
from pipechat.chats.models import chat_members
from pipechat.chats.reads import Mark, ReadWriter
from pipechat.chats.schemas import ReadMarker
from pipechat.db import Database
from pipechat.errors import ChatError
from support import make_settings

M = chat_members.c


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(make_settings(database_url, tmp_path))
    yield database
    await database.dispose()


class Recorder:
    """A publisher that keeps what it was asked to emit."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, list[int], str | None]] = []

    async def __call__(self, event: str, data: Any, user_ids: list[int], /,
                      skip_sid: str | None = None) -> None:
        self.events.append((event, data, sorted(user_ids), skip_sid))


async def _messages(db: Database, chat_id: int, author: int, count: int) -> list[int]:
    ids: list[int] = []
    async with db.write() as session:
        for _ in range(count):
            ids.append(int((await session.execute(text(
                "INSERT INTO messages (chat_id, author_id, message, created_at, updated_at) "
                "VALUES (:chat, :author, 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) "
                "RETURNING id"), {"chat": chat_id, "author": author})).scalar_one()))
    return ids


async def _markers(db: Database, chat_id: int) -> dict[int, tuple[int | None, int | None]]:
    async with db.read() as session:
        rows = await session.execute(select(M.user_id, M.last_read_message_id,
                                            M.member_position).where(M.chat_id == chat_id))
        return {row[0]: (row[1], row[2]) for row in rows}


async def _outcomes(futures: list[asyncio.Future[ReadMarker]]) -> list[Any]:
    return list(await asyncio.gather(*futures, return_exceptions=True))


async def test_marks_of_one_turn_are_one_batch_each_answered(db: Database) -> None:
    chat_id, (alice, bob, carol) = await make_chat(db, ["alice", "bob", "carol"])
    other_id, (dave,) = await make_chat(db, ["dave"])
    ids = await _messages(db, chat_id, bob, 3)
    elsewhere = (await _messages(db, other_id, dave, 1))[0]
    published = Recorder()
    writer = ReadWriter(db, published)
    writer.start()
    try:
        before = await db.run_write(draw_position)
        futures = [
            writer.submit(Mark(chat_id, alice, ids[0], "a1")),
            writer.submit(Mark(chat_id, alice, ids[2], "a2")),    # alice's higher mark wins
            writer.submit(Mark(chat_id, bob, elsewhere, "b1")),   # another chat's message
            writer.submit(Mark(chat_id, carol, ids[1], "c1")),
            writer.submit(Mark(chat_id, alice, ids[1], "a3")),
            writer.submit(Mark(other_id, alice, elsewhere)),      # not a member
            writer.submit(Mark(99999, carol, ids[0])),            # no such chat
            writer.submit(Mark(chat_id, bob, 99999, "b2")),       # no such message
        ]
        outcomes = await _outcomes(futures)
    finally:
        await writer.stop()
    seq = outcomes[0].seq

    def marker(user: int, message_id: int) -> ReadMarker:
        return ReadMarker(chat_id=chat_id, user_id=user, last_read_message_id=message_id,
                          seq=seq)

    assert outcomes[0] == outcomes[1] == outcomes[4] == marker(alice, ids[2])
    assert outcomes[3] == marker(carol, ids[1])
    assert [getattr(o, "code", None) for o in outcomes] == [
        None, None, 145, None, None, 101, 100, 145]
    assert all(isinstance(o, ChatError) for o in (outcomes[2], *outcomes[5:]))
    # One `read` per moved marker, to every member, skipping the socket whose mark won.
    members = sorted([alice, bob, carol])
    assert sorted(published.events, key=lambda e: e[1]["userId"]) == sorted([
        ("read", marker(alice, ids[2]).model_dump(mode="json", by_alias=True), members, "a2"),
        ("read", marker(carol, ids[1]).model_dump(mode="json", by_alias=True), members, "c1"),
    ], key=lambda e: e[1]["userId"])
    stored = await _markers(db, chat_id)
    assert stored[alice][0] == ids[2] and stored[carol][0] == ids[1] and stored[bob][0] is None
    # One transaction: both moved members share its sync position, newer than before.
    assert stored[alice][1] == stored[carol][1] and (stored[alice][1] or 0) > before


async def test_a_marker_never_moves_back_and_an_idle_mark_writes_nothing(db: Database) -> None:
    chat_id, (alice, bob) = await make_chat(db, ["alice", "bob"])
    ids = await _messages(db, chat_id, bob, 3)
    published = Recorder()
    writer = ReadWriter(db, published)
    writer.start()
    try:
        first = await writer.submit(Mark(chat_id, alice, ids[2]))
        position = (await _markers(db, chat_id))[alice][1]
        again = await _outcomes([writer.submit(Mark(chat_id, alice, ids[0])),
                                 writer.submit(Mark(chat_id, alice, ids[2]))])
    finally:
        await writer.stop()
    assert first.last_read_message_id == ids[2]
    assert [o.last_read_message_id for o in again] == [ids[2], ids[2]]
    assert len(published.events) == 1
    assert (await _markers(db, chat_id))[alice] == (ids[2], position)


async def test_a_stopped_writer_refuses_new_marks(db: Database) -> None:
    chat_id, (alice, bob) = await make_chat(db, ["alice", "bob"])
    ids = await _messages(db, chat_id, bob, 1)
    writer = ReadWriter(db, Recorder())
    writer.start()
    await writer.stop()
    with pytest.raises(ChatError) as refused:
        writer.submit(Mark(chat_id, alice, ids[0]))
    assert refused.value.code == 150
    assert (await _markers(db, chat_id))[alice][0] is None
