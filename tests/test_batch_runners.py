"""Write batches: one transaction per call; on PostgreSQL a dead idle connection is replaced."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from pipechat.batch_runners import EngineBatchRunner
from pipechat.db import Database
from support import make_settings

ON_POSTGRES = [pytest.param("postgresql", marks=pytest.mark.postgres)]


def _add_then_fail(connection: Connection, value: int) -> None:
    connection.execute(text("INSERT INTO probe (x) VALUES (:x)"), {"x": value})
    raise RuntimeError("the batch fails after its insert")


def _add(connection: Connection, value: int) -> int:
    connection.execute(text("INSERT INTO probe (x) VALUES (:x)"), {"x": value})
    return int(connection.scalar(text("SELECT count(*) FROM probe")) or 0)


async def test_batch_commits_on_return_and_rolls_back_on_error(database_url: str,
                                                                tmp_path: Path) -> None:
    db = Database(make_settings(database_url, tmp_path))
    try:
        async with db.read_engine.begin() as connection:
            await connection.execute(text("CREATE TABLE probe (x INTEGER)"))
        assert await db.run_write(_add, 1) == 1
        with pytest.raises(RuntimeError):
            await db.run_write(_add_then_fail, 2)
        assert await db.run_write(_add, 3) == 2  # the failed batch left nothing behind
    finally:
        await db.dispose()


async def _kill_other_backends(database_url: str) -> int:
    admin = await asyncpg.connect(database_url)
    try:
        return len(await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    finally:
        await admin.close()


def _one(connection: Connection) -> int:
    return int(connection.scalar(text("SELECT 1")) or 0)


@pytest.mark.parametrize("backend", ON_POSTGRES)
async def test_connection_killed_while_idle_is_replaced_before_the_batch(
        database_url: str, tmp_path: Path) -> None:
    url = make_settings(database_url, tmp_path).async_database_url
    pinging = EngineBatchRunner(create_async_engine(url, pool_size=1, max_overflow=0),
                                ping_after_idle=0.0)
    trusting = EngineBatchRunner(create_async_engine(url, pool_size=1, max_overflow=0),
                                 ping_after_idle=3600.0)
    try:
        assert await pinging.run(_one) == 1 and await trusting.run(_one) == 1
        assert await _kill_other_backends(database_url) == 2
        assert await pinging.run(_one) == 1
        # Without the idle ping the dead connection reaches the batch, which then fails.
        with pytest.raises(DBAPIError) as failed:
            await trusting.run(_one)
        assert failed.value.connection_invalidated
    finally:
        await pinging.close()
        await trusting.close()
