"""Shared set-up of the fault tests: server environments, users and chats, final checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from faults.clients import RecipeClient
from pipechat.db import Database
from pipechat.messages.models import Message
from support import (
    RAISED_LIMITS_ENV,
    TEST_SECRET,
    Account,
    ServerProcess,
    create_chat,
    make_settings,
    register,
)

POSTGRES_ONLY = pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])


async def wait_for_acks(clients: list[RecipeClient], total: int) -> None:
    """Wait until the clients together have `total` acknowledged messages."""
    # Polling several clients' counters; a shared event would only add plumbing here.
    while sum(len(c.outcomes.acked) for c in clients) < total:  # noqa: ASYNC110
        await asyncio.sleep(0.02)


@asynccontextmanager
async def load_with_fault(world: World, urls_of: list[list[str]],
                          per_chat: int) -> AsyncIterator[list[RecipeClient]]:
    """Clients sending `per_chat` messages into each of their chats; the body injects a fault.

    User i connects to `urls_of[i]` in turn. The body runs once the first `per_chat` acks are
    in; afterwards every send must end acknowledged, and the clients are stopped either way.
    """
    clients = [RecipeClient(account, urls_of[index], world.chats_of(index))
               for index, account in enumerate(world.accounts)]
    for client in clients:
        client.start()
    try:
        senders = [asyncio.create_task(client.send_all(chat_id, per_chat, f"c{i}-{chat_id}"))
                   for i, client in enumerate(clients) for chat_id in client.chat_ids]
        await asyncio.wait_for(wait_for_acks(clients, per_chat), 60)
        yield clients
        await asyncio.wait_for(asyncio.gather(*senders), 90)
    finally:
        for client in clients:
            await client.stop()


@contextmanager
def stopping(*servers: ServerProcess) -> Iterator[None]:
    """Stop these server processes when the block ends, however it ends."""
    try:
        yield
    finally:
        for server in servers:
            server.stop()


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of a `pipechat serve` child for these tests."""
    return {
        "PIPECHAT_DATABASE_URL": database_url,
        "PIPECHAT_DATA_DIR": str(data_dir),
        "PIPECHAT_JWT_SECRET": TEST_SECRET,
        "PIPECHAT_ARGON2_TIME_COST": "1",
        "PIPECHAT_ARGON2_MEMORY_KIB": "1024",
        "PIPECHAT_RATE_LIMIT_PER_SECOND": "1000",
        "PIPECHAT_RATE_LIMIT_BURST": "1000",
        "PIPECHAT_LOG_LEVEL": "WARNING",
        **RAISED_LIMITS_ENV,
        **extra,
    }


@dataclass
class World:
    """Three users: all in the group chat, the first two also in a pair chat."""

    accounts: list[Account]
    group_chat: int
    pair_chat: int

    def chats_of(self, index: int) -> list[int]:
        """The chats user `index` is in."""
        return [self.group_chat, self.pair_chat] if index < 2 else [self.group_chat]


async def make_world(url: str) -> World:
    """Register the users and create the chats through the public API."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as api:
        accounts = [await register(api) for _ in range(3)]

        group = (await create_chat(api, accounts[0], accounts[1], accounts[2]))["id"]
        pair = (await create_chat(api, accounts[0], accounts[1]))["id"]
    return World(accounts, group, pair)


@pytest.fixture
async def database(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    """Direct access to the test database, for the final checks."""
    db = Database(make_settings(database_url, tmp_path / "checks"))
    yield db
    await db.dispose()


async def check_nothing_lost(db: Database, clients: list[RecipeClient], api_url: str) -> None:
    """Every ack is stored once, and every client has every message of its chats once."""
    async with db.read() as session:
        rows = (await session.execute(select(
            Message.id, Message.chat_id, Message.author_id, Message.client_message_id))).all()
        doubled = (await session.execute(
            select(Message.author_id, Message.client_message_id, func.count())
            .group_by(Message.author_id, Message.client_message_id)
            .having(func.count() > 1, Message.client_message_id.is_not(None)))).all()
    assert doubled == []
    stored = {(row.author_id, row.client_message_id): row.id for row in rows}
    for client in clients:
        for client_message_id, message_id in client.outcomes.acked.items():
            assert stored[(client.account.id, client_message_id)] == message_id
    for client in clients:
        for chat_id in client.chat_ids:
            await client.catch_up(chat_id, api_url)
            expected = {row.id for row in rows if row.chat_id == chat_id}
            assert set(client.seen[chat_id]) == expected, (client.account.nickname, chat_id)
            assert client.contiguous[chat_id] == max(expected)
            for message in client.seen[chat_id].values():
                assert message["author"]["id"] and message["chatId"] == chat_id
