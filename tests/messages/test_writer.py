"""The group-commit writer on a real database: order, idempotency, failure, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipechat.chats.models import Chat, chat_members
from pipechat.db import Database
from pipechat.errors import ChatError, ErrorCode
from pipechat.messages.models import Message
from pipechat.messages.writer import MessageWriter, SavedMessage
from pipechat.users.models import User
from support import make_settings


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(make_settings(database_url, tmp_path))
    yield database
    await database.dispose()


async def make_chat(db: Database, nicknames: list[str]) -> tuple[int, list[int]]:
    async with db.write() as session:
        users = [User(nickname=n, email=f"{n}@example.com", password_hash="x") for n in nicknames]
        chat = Chat()
        session.add_all([*users, chat])
        await session.flush()
        await session.execute(chat_members.insert(),
                              [{"chat_id": chat.id, "user_id": u.id} for u in users])
        return chat.id, [u.id for u in users]


async def stored(db: Database, chat_id: int) -> list[Message]:
    async with db.read() as session:
        return list(await session.scalars(
            select(Message).where(Message.chat_id == chat_id).order_by(Message.id)))


async def test_messages_are_saved_in_submission_order(db: Database) -> None:
    published: list[SavedMessage] = []
    writer = MessageWriter(db, on_saved=published.extend)
    writer.start()
    chat_id, (alice, _bob) = await make_chat(db, ["alice", "bob"])
    futures = [writer.submit(chat_id, alice, "alice", f"m{i}", None) for i in range(50)]
    saved = await asyncio.gather(*futures)
    await writer.stop()
    assert [s.message for s in saved] == [f"m{i}" for i in range(50)]
    assert [s.id for s in saved] == sorted(s.id for s in saved)
    assert [m.message for m in await stored(db, chat_id)] == [f"m{i}" for i in range(50)]
    assert [p.id for p in published] == [s.id for s in saved]
    assert all(m.author_id == alice for m in await stored(db, chat_id))


async def test_client_message_id_is_idempotent_within_and_across_batches(db: Database) -> None:
    published: list[SavedMessage] = []
    writer = MessageWriter(db, on_saved=published.extend)
    writer.start()
    chat_id, (alice, bob) = await make_chat(db, ["alice", "bob"])
    first, again_same_batch, bobs = await asyncio.gather(
        writer.submit(chat_id, alice, "alice", "hello", "c-1"),
        writer.submit(chat_id, alice, "alice", "hello", "c-1"),
        writer.submit(chat_id, bob, "bob", "hello", "c-1"),  # same id, other author: distinct
    )
    later = await writer.submit(chat_id, alice, "alice", "hello again", "c-1")
    await writer.stop()
    assert first.created and not again_same_batch.created and not later.created
    assert again_same_batch.id == first.id == later.id and later.message == "hello"
    assert bobs.created and bobs.id != first.id
    assert len(await stored(db, chat_id)) == 2
    assert sorted(p.id for p in published) == sorted([first.id, bobs.id])


async def test_message_to_a_vanished_chat_fails_alone_and_stores_nothing(db: Database) -> None:
    writer = MessageWriter(db)
    writer.start()
    chat_id, (alice, _) = await make_chat(db, ["alice", "bob"])
    # The batch locks its chats first: a chat id that does not exist fails only its message.
    ok = writer.submit(chat_id, alice, "alice", "fine", None)
    await ok
    bad = writer.submit(999_999, alice, "alice", "orphan", None)
    with pytest.raises(ChatError) as caught:
        await bad
    assert caught.value.code == ErrorCode.CHAT_NOT_FOUND
    after = await writer.submit(chat_id, alice, "alice", "still works", None)
    await writer.stop()
    assert after.created
    async with db.read() as session:
        orphans = await session.scalar(
            select(func.count()).select_from(Message).where(Message.chat_id == 999_999))
    assert orphans == 0
    assert [m.message for m in await stored(db, chat_id)] == ["fine", "still works"]


async def test_stop_flushes_accepted_messages_and_refuses_new_ones(db: Database) -> None:
    writer = MessageWriter(db)
    writer.start()
    chat_id, (alice, _) = await make_chat(db, ["alice", "bob"])
    futures = [writer.submit(chat_id, alice, "alice", f"m{i}", None) for i in range(20)]
    await writer.stop()
    assert all(f.done() and not f.exception() for f in futures)
    assert len(await stored(db, chat_id)) == 20
    with pytest.raises(ChatError) as caught:
        writer.submit(chat_id, alice, "alice", "late", None)
    assert caught.value.code == ErrorCode.SERVICE_UNAVAILABLE


async def test_one_bad_message_does_not_sink_its_batch(db: Database) -> None:
    writer = MessageWriter(db)
    writer.start()
    chat_id, (alice, _) = await make_chat(db, ["alice", "bob"])
    results = await asyncio.gather(
        writer.submit(chat_id, alice, "alice", "before", None),
        writer.submit(999_999, alice, "alice", "orphan", None),
        writer.submit(chat_id, alice, "alice", "after", None),
        return_exceptions=True,
    )
    await writer.stop()
    assert isinstance(results[1], ChatError)
    assert [m.message for m in await stored(db, chat_id)] == ["before", "after"]


async def test_previous_id_chains_each_chat_even_when_chats_interleave(db: Database) -> None:
    published: list[SavedMessage] = []
    writer = MessageWriter(db, on_saved=published.extend)
    writer.start()
    first_chat, (alice, _) = await make_chat(db, ["alice", "bob"])
    second_chat, (carol, _) = await make_chat(db, ["carol", "dave"])
    futures = [writer.submit(first_chat if i % 3 else second_chat,
                             alice if i % 3 else carol, "x", f"m{i}", f"k{i}")
               for i in range(30)]
    saved = await asyncio.gather(*futures)
    later = await writer.submit(first_chat, alice, "alice", "later batch", None)
    resent = await writer.submit(first_chat, alice, "alice", "m1", "k1")
    await writer.stop()
    for chat_id in (first_chat, second_chat):
        chain = [s for s in [*saved, later] if s.chat_id == chat_id]
        assert chain[0].previous_id is None
        assert [s.previous_id for s in chain[1:]] == [s.id for s in chain[:-1]]
    original = next(s for s in saved if s.client_message_id == "k1")
    assert not resent.created and resent.previous_id == original.previous_id
    assert resent.to_wire()["previousId"] == original.previous_id
    assert [p.previous_id for p in published] == [s.previous_id for s in [*saved, later]]


async def test_a_data_error_fails_only_its_own_message(db: Database, backend: str) -> None:
    writer = MessageWriter(db)
    writer.start()
    chat_id, (alice, bob) = await make_chat(db, ["alice", "bob"])
    # Texts validation refuses; here they reach the database to prove the writer's own defence.
    unstorable = ["lone \ud800 surrogate"] + (["nul \x00 inside"] if backend != "sqlite" else [])
    futures = [writer.submit(chat_id, alice, "alice", "innocent 0", None),
               *(writer.submit(chat_id, bob, "bob", text, None) for text in unstorable),
               writer.submit(chat_id, alice, "alice", "innocent 1", None)]
    results = await asyncio.gather(*futures, return_exceptions=True)
    await writer.stop()
    bad = results[1:-1]
    assert all(isinstance(r, ChatError) and r.code == ErrorCode.VALIDATION_FAILED
               for r in bad), bad
    assert [m.message for m in await stored(db, chat_id)] == ["innocent 0", "innocent 1"]


async def test_an_outage_fails_the_whole_batch_at_once(
        tmp_path: Path, backend: str, caplog: pytest.LogCaptureFixture) -> None:
    # Nothing answers there: every attempt fails to connect, as in a database outage.
    url = ("sqlite:///" + str(tmp_path / "missing" / "pipechat.db") if backend == "sqlite"
           else "postgresql://postgres@127.0.0.1:1/test")
    unreachable = Database(make_settings(url, tmp_path))
    writer = MessageWriter(unreachable)
    writer.start()
    futures = [writer.submit(1, 1, "alice", f"m{i}", None) for i in range(20)]
    with caplog.at_level("WARNING", logger="pipechat.messages"):
        results = await asyncio.gather(*futures, return_exceptions=True)
    await writer.stop()
    await unreachable.dispose()
    assert all(isinstance(r, ChatError) and r.code == ErrorCode.SERVICE_UNAVAILABLE
               for r in results), results
    # One failed batch of 20, not 20 attempts of one.
    failures = [r.getMessage() for r in caplog.records if r.name == "pipechat.messages"]
    assert len(failures) == 1 and failures[0].startswith("message batch of 20 failed"), failures
