"""Revision 0004 on a database with history: named groups with a log, messages with seqs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from pipechat.migrations import alembic_config
from support import POSTGRES_URL, need_service

ROWS = """
INSERT INTO users (id, nickname, email, password_hash, role, created_at, updated_at) VALUES
  (1, 'a', 'a@example.com', 'x', 'USER', '2025-01-01', '2025-01-01'),
  (2, 'b', 'b@example.com', 'x', 'USER', '2025-01-01', '2025-01-01');
INSERT INTO chats (id, created_at, updated_at, last_message_id) VALUES
  (1, '2025-01-01', '2025-01-01', 5), (2, '2025-01-01', '2025-01-01', 4),
  (3, '2025-01-01', '2025-01-01', NULL);
INSERT INTO chat_members (chat_id, user_id) VALUES (1, 1), (1, 2), (2, 1), (3, 2);
INSERT INTO messages (id, chat_id, author_id, message, created_at, updated_at) VALUES
  (1, 1, 1, 'a', '2025-01-02', '2025-01-02'), (2, 2, 1, 'b', '2025-01-02', '2025-01-02'),
  (3, 1, 2, 'c', '2025-01-02', '2025-01-02'), (4, 2, 1, 'd', '2025-01-02', '2025-01-02'),
  (5, 1, 1, 'e', '2025-01-02', '2025-01-02')
"""


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    url = need_service("postgres", POSTGRES_URL)
    name = f"pipechat_m_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        yield url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


async def test_existing_history_is_numbered(empty_database: str) -> None:
    engine = create_async_engine(empty_database)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, "0003")
            for statement in ROWS.split(";"):
                await connection.execute(text(statement))
            await connection.run_sync(_upgrade, "head")
        async with engine.connect() as connection:
            seqs = (await connection.execute(text(
                "SELECT id, seq FROM messages ORDER BY id"))).all()
            log = (await connection.execute(text(
                "SELECT chat_id, seq, kind, message_id, position FROM chat_changes "
                "ORDER BY chat_id, seq"))).all()
            heads = (await connection.execute(text(
                "SELECT id, last_seq FROM chats ORDER BY id"))).all()
            names = (await connection.execute(text(
                "SELECT id, kind, name FROM chats ORDER BY id"))).all()
            activity = (await connection.execute(text(
                "SELECT id, activity FROM chats ORDER BY id"))).all()
            owners = (await connection.execute(text(
                "SELECT chat_id, user_id FROM chat_members WHERE role = 'owner' "
                "ORDER BY chat_id"))).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in seqs] == [(1, 2), (2, 2), (3, 3), (4, 3), (5, 4)]
    assert [tuple(row) for row in log] == [
        (1, 1, "chat_created", None, 0), (1, 2, "message", 1, 0), (1, 3, "message", 3, 0),
        (1, 4, "message", 5, 0), (2, 1, "chat_created", None, 0), (2, 2, "message", 2, 0),
        (2, 3, "message", 4, 0), (3, 1, "chat_created", None, 0)]
    assert [tuple(row) for row in heads] == [(1, 4), (2, 3), (3, 1)]
    assert [tuple(row) for row in owners] == [(1, 1), (2, 1), (3, 2)]
    # A chat's newest message id; chats without one come last.
    assert [tuple(row) for row in activity] == [(1, 5), (2, 4), (3, 0)]
    assert [tuple(row) for row in names] == [
        (1, "group", "a, b"), (2, "group", "a"), (3, "group", "b")]
