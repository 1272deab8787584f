"""Catch-up through `GET /sync` without gaps while several processes write.

Several `MessageWriter`s, each with its own `Database` (as separate server processes would
have), save messages into several chats while new chats are created over REST. A reader keeps
syncing with the token of its previous sync, as a reconnecting client would, and checks that
in every chat each change it has not seen yet starts right after the last one it holds. On
PostgreSQL transactions commit in any order across chats; a token that only remembered the
highest position seen would skip changes committed after a later one (drop the in-progress
list from `read_token` and this test fails).
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select

from pipechat.chats.models import Chat
from pipechat.db import Database
from pipechat.messages.writer import MessageWriter
from support import Account, LiveServer, create_chat, register

from .conftest import sync

WRITERS = 3
SENDERS = 12
MESSAGES_PER_SENDER = 25
CHATS = 4
NEW_CHATS = 6


class Reader:
    """A client's view: per chat, every seq it holds; it must never see a jump."""

    def __init__(self, api: httpx.AsyncClient, account: Account) -> None:
        self.api = api
        self.account = account
        self.seqs: dict[int, list[int]] = {}
        self.token: str | None = None
        self.filled = 0

    async def sync_once(self) -> None:
        chats, self.token = await sync(self.api, self.account, self.token)
        for chat_id, reported in chats.items():
            held = self.seqs.setdefault(chat_id, [])
            new = [c["seq"] for c in reported["changes"] if not held or c["seq"] > held[-1]]
            if reported["limited"] and new and new[0] != (held[-1] if held else 0) + 1:
                await self.fill(chat_id)  # told so: the oldest changes were left out
                new = [seq for seq in new if seq > held[-1]]
            assert new == list(range((held[-1] if held else 0) + 1,
                                     (held[-1] if held else 0) + 1 + len(new))), (
                f"chat {chat_id}: held up to {held[-1] if held else 0}, got {new}")
            held.extend(new)
            assert reported["seq"] == held[-1]

    async def fill(self, chat_id: int) -> None:
        held = self.seqs[chat_id]
        url: str | None = f"/chats/{chat_id}/changes?after={held[-1] if held else 0}&take=100"
        while url is not None:
            page = (await self.api.get(url, headers=self.account.bearer)).json()
            held.extend(c["seq"] for c in page["data"])
            url = page["next"]
        self.filled += 1


async def sender(writer: MessageWriter, author: Account, chat_ids: list[int],
                 number: int) -> None:
    for i in range(MESSAGES_PER_SENDER):
        chat_id = chat_ids[(number + i) % len(chat_ids)]
        await writer.submit(chat_id, author.id, author.nickname, f"s{number}-{i}", None)


async def creator(api: httpx.AsyncClient, author: Account, reader: Account) -> None:
    for _ in range(NEW_CHATS):
        await create_chat(api, author, reader)
        await asyncio.sleep(0)


async def test_syncing_reader_gets_every_change_of_every_chat_in_order(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    author, reader_account = await register(api), await register(api)
    chat_ids = [(await create_chat(api, author, reader_account))["id"] for _ in range(CHATS)]
    reader = Reader(api, reader_account)
    await reader.sync_once()
    databases = [Database(server.settings) for _ in range(WRITERS)]
    writers = [MessageWriter(db) for db in databases]
    for writer in writers:
        writer.start()
    done = asyncio.Event()

    async def keep_syncing() -> int:
        rounds = 0
        while True:
            finished = done.is_set()
            await reader.sync_once()
            rounds += 1
            if finished:
                return rounds

    reading = asyncio.create_task(keep_syncing())
    try:
        await asyncio.gather(
            *(sender(writers[n % WRITERS], author, chat_ids, n) for n in range(SENDERS)),
            creator(api, author, reader_account))
        done.set()
        rounds = await reading
    finally:
        for writer in writers:
            await writer.stop()
        for db in databases:
            await db.dispose()
    async with server.context.db.read() as session:
        final = {row[0]: row[1] for row in await session.execute(select(Chat.id, Chat.last_seq))}
    assert len(reader.seqs) == CHATS + NEW_CHATS
    for chat_id, held in reader.seqs.items():
        assert held == list(range(1, final[chat_id] + 1))
    assert sum(final[c] - 1 for c in chat_ids) == SENDERS * MESSAGES_PER_SENDER
    assert rounds > 2  # the reader really did read while the writers wrote
