"""Catch-up without gaps: a reader paging with `where__id__more_than` while others write.

Several `MessageWriter`s, each with its own `Database` (as separate server processes would
have), save messages from many concurrent senders into one chat. A reader keeps asking the real
endpoint for everything after the last id it saw. Because each batch locks the chat row before
drawing ids, ids become visible in id order and the reader never pages past an id that is not
committed yet. bench/catchup_race.py shows plain concurrent inserts without that lock do lose
messages this way.
"""

from __future__ import annotations

import asyncio

import httpx

from pipechat.db import Database
from pipechat.messages.writer import MessageWriter
from support import Account, LiveServer, create_chat, register

WRITERS = 3
SENDERS = 12
MESSAGES_PER_SENDER = 25


async def sender(writer: MessageWriter, author: Account, chat_id: int, number: int) -> list[int]:
    ids = []
    for i in range(MESSAGES_PER_SENDER):
        saved = await writer.submit(chat_id, author.id, author.nickname, f"s{number}-{i}", None)
        ids.append(saved.id)
    return ids


async def catch_up(api: httpx.AsyncClient, reader: Account, chat_id: int,
                   senders_done: asyncio.Event) -> list[int]:
    """Poll for newer messages until a poll begun after the senders finished comes back short."""
    seen: list[int] = []
    while True:
        finished = senders_done.is_set()
        after = seen[-1] if seen else 0
        response = await api.get(f"/chats/{chat_id}/messages",
                                 params={"where__id__more_than": after, "take": 100},
                                 headers=reader.bearer)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(message["id"] for message in page["data"])
        if finished and page["next"] is None:
            return seen
        if page["next"] is None:
            await asyncio.sleep(0)


async def test_reader_catching_up_gets_every_message_once_in_order(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    author, reader = await register(api), await register(api)
    chat = await create_chat(api, author, reader)
    databases = [Database(server.settings) for _ in range(WRITERS)]
    writers = [MessageWriter(db) for db in databases]
    for writer in writers:
        writer.start()
    senders_done = asyncio.Event()
    reading = asyncio.create_task(catch_up(api, reader, chat["id"], senders_done))
    try:
        sent = await asyncio.gather(*(sender(writers[n % WRITERS], author, chat["id"], n)
                                      for n in range(SENDERS)))
        senders_done.set()
        seen = await reading
    finally:
        for writer in writers:
            await writer.stop()
        for db in databases:
            await db.dispose()
    every_id = sorted(i for ids in sent for i in ids)
    assert len(every_id) == SENDERS * MESSAGES_PER_SENDER == len(set(every_id))
    assert seen == every_id
