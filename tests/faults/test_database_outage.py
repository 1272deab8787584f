"""Fault 4: PostgreSQL refuses and cuts connections for a moment under load."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from faults.conftest import (
    POSTGRES_ONLY,
    check_nothing_lost,
    load_with_fault,
    make_world,
    server_env,
    stopping,
)
from pipechat.db import Database
from support import POSTGRES_URL, ServerProcess

PER_CHAT = 40
OUTAGE_SECONDS = 1.5


async def cut_database(database_url: str) -> None:
    """Refuse new connections and terminate the open ones, then allow them again."""
    name = database_url.rsplit("/", 1)[1]
    assert POSTGRES_URL is not None
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await admin.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
        deadline = asyncio.get_running_loop().time() + OUTAGE_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = $1 AND pid <> pg_backend_pid()", name)
            await asyncio.sleep(0.1)
    finally:
        await admin.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")
        await admin.close()


@POSTGRES_ONLY
async def test_database_outage_gives_errors_never_false_oks(
    database_url: str, database: Database, tmp_path: Path
) -> None:
    server = ServerProcess(server_env(database_url, tmp_path),
                           log_path=tmp_path / "server.log").start()
    with stopping(server):
        world = await make_world(server.url)
        async with load_with_fault(world, [[server.url]] * 3, PER_CHAT) as clients:
            await cut_database(database_url)
        assert server.process is not None and server.process.poll() is None
        # Sends during the outage were refused with code 150 and re-sent later.
        assert sum(client.outcomes.errors.get(150, 0) for client in clients) > 0
        await check_nothing_lost(database, clients, server.url)
