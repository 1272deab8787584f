"""Revision 0006 on a database with history: messages keep everything, new columns empty."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from changes.test_migration import ROWS, _upgrade, empty_database
from pipechat.migrations import alembic_config

__all__ = ["empty_database"]


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _columns(connection: Connection) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns("messages")}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _autoincrement(connection: Any) -> bool:
    if connection.dialect.name != "sqlite":
        return True  # a PostgreSQL sequence never hands an id out twice
    sql = await connection.scalar(text(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'"))
    return "AUTOINCREMENT" in str(sql)


async def test_upgrade_keeps_history_and_downgrade_undoes_it(empty_database: str) -> None:
    engine = create_async_engine(empty_database)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, "0003")
            for statement in ROWS.split(";"):
                await connection.execute(text(statement))
            await connection.run_sync(_upgrade, "0006")
        async with engine.begin() as connection:
            rows = (await connection.execute(text(
                "SELECT id, message, seq, edited_at, deleted_at, reply_to_id FROM messages "
                "ORDER BY id"))).all()
            assert await _autoincrement(connection)
            await connection.execute(text(
                "INSERT INTO message_reactions (message_id, user_id, emoji, created_at) "
                "VALUES (1, 2, 'x', '2025-01-03')"))
            await connection.run_sync(_downgrade, "0004")
            columns = await connection.run_sync(_columns)
            tables = await connection.run_sync(_tables)
            kept = (await connection.execute(text(
                "SELECT id, message, seq FROM messages ORDER BY id"))).all()
            assert await _autoincrement(connection)
    finally:
        await engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, "a", 2, None, None, None), (2, "b", 2, None, None, None),
        (3, "c", 3, None, None, None), (4, "d", 3, None, None, None),
        (5, "e", 4, None, None, None)]
    assert not {"edited_at", "deleted_at", "reply_to_id"} & columns
    assert "message_reactions" not in tables
    assert [tuple(row) for row in kept] == [(r[0], r[1], r[2]) for r in rows]
