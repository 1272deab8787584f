"""Does a reader catching up with `where__id__more_than` miss messages? (PostgreSQL)

Two write paths race the same reader, which polls the real `GET /chats/{cid}/messages` of a
`pipechat serve` process for everything after the last id it saw:

- `plain`: several connections each run `BEGIN; INSERT ... RETURNING id; COMMIT` with no lock.
  Ids come from a sequence at INSERT time but become visible at COMMIT, so id N+1 can be
  visible before N; a reader that pages past N+1 never sees N.
- `writer`: several `MessageWriter`s, each with its own `Database` (like separate processes),
  which lock the chat row before drawing ids; ids then become visible in id order.

Prints how many messages each reader missed. Not a test: `plain` misses depend on scheduling.

    .venv/bin/python bench/catchup_race.py [--admin-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg
import httpx
from history_setup import (
    BenchUser,
    create_chat,
    create_database,
    drop_database,
    register,
    server_process,
)

from pipechat.config import Settings
from pipechat.db import Database
from pipechat.messages.writer import MessageWriter

INSERT = ("INSERT INTO messages (chat_id, author_id, message, created_at, updated_at) "
          "VALUES ($1, $2, $3, now(), now()) RETURNING id")


async def read_until_done(api: httpx.AsyncClient, reader: BenchUser, chat_id: int,
                          done: asyncio.Event) -> list[int]:
    """Catch up repeatedly; stop after a poll begun once writing ended comes back short."""
    seen: list[int] = []
    while True:
        finished = done.is_set()
        response = await api.get(f"/chats/{chat_id}/messages", headers=reader.headers,
                                 params={"where__id__more_than": seen[-1] if seen else 0,
                                         "take": 100})
        response.raise_for_status()
        page = response.json()
        seen.extend(message["id"] for message in page["data"])
        if finished and page["next"] is None:
            return seen


async def plain_inserts(url: str, chat_id: int, author: BenchUser, senders: int, count: int,
                        hold_ms: float) -> list[int]:
    """Concurrent single-row transactions without any lock."""
    async def one_sender(number: int) -> list[int]:
        connection = await asyncpg.connect(url)
        ids = []
        try:
            for i in range(count):
                async with connection.transaction():
                    ids.append(await connection.fetchval(INSERT, chat_id, author.id,
                                                         f"p{number}-{i}"))
                    if hold_ms:
                        await asyncio.sleep(hold_ms / 1000)
        finally:
            await connection.close()
        return ids
    results = await asyncio.gather(*(one_sender(n) for n in range(senders)))
    return [i for ids in results for i in ids]


async def writer_inserts(url: str, chat_id: int, author: BenchUser, senders: int,
                         count: int) -> list[int]:
    """The server's write path: several MessageWriters, each with its own pool."""
    databases = [Database(Settings(database_url=url, jwt_secret="x" * 40)) for _ in range(4)]
    writers = [MessageWriter(db) for db in databases]
    for writer in writers:
        writer.start()

    async def one_sender(number: int) -> list[int]:
        writer = writers[number % len(writers)]
        return [(await writer.submit(chat_id, author.id, author.nickname, f"w{number}-{i}",
                                     None)).id for i in range(count)]
    try:
        results = await asyncio.gather(*(one_sender(n) for n in range(senders)))
    finally:
        for writer in writers:
            await writer.stop()
        for db in databases:
            await db.dispose()
    return [i for ids in results for i in ids]


async def race(api: httpx.AsyncClient, url: str, path: str, senders: int, count: int,
               hold_ms: float) -> None:
    author, reader = await register(api), await register(api)
    chat_id = await create_chat(api, author, reader)
    done = asyncio.Event()
    reading = asyncio.create_task(read_until_done(api, reader, chat_id, done))
    started = time.perf_counter()
    if path == "plain":
        sent = await plain_inserts(url, chat_id, author, senders, count, hold_ms)
    else:
        sent = await writer_inserts(url, chat_id, author, senders, count)
    elapsed = time.perf_counter() - started
    done.set()
    seen = await reading
    missed = sorted(set(sent) - set(seen))
    duplicates = len(seen) - len(set(seen))
    label = f"{path} (hold {hold_ms} ms)" if path == "plain" else path
    print(f"{label:22} sent {len(sent):5}  seen {len(seen):5}  missed {len(missed):4}  "
          f"duplicates {duplicates}  in order {seen == sorted(seen)}  "
          f"({len(sent) / elapsed:.0f} msg/s)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--messages", type=int, default=100, help="per sender")
    args = parser.parse_args()
    url = await create_database(args.admin_url, "pipechat_bench_race")
    try:
        with server_process(url) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as api:
                for path, hold in (("plain", 0.0), ("plain", 1.0), ("writer", 0.0)):
                    await race(api, url, path, args.senders, args.messages, hold)
    finally:
        await drop_database(args.admin_url, url)


if __name__ == "__main__":
    asyncio.run(main())
