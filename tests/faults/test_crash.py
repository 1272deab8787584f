"""Fault 1: the server is killed with SIGKILL mid-stream and restarted on the same port."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from faults.conftest import check_nothing_lost, load_with_fault, make_world, server_env, stopping
from pipechat.db import Database
from support import ServerProcess

pytestmark = pytest.mark.slow
PER_CHAT = 40


async def test_sigkill_mid_stream_loses_nothing(database_url: str, database: Database,
                                                tmp_path: Path) -> None:
    server = ServerProcess(server_env(database_url, tmp_path),
                           log_path=tmp_path / "server.log").start()
    with stopping(server):
        world = await make_world(server.url)
        async with load_with_fault(world, [[server.url]] * 3, PER_CHAT) as clients:
            server.kill()
            await asyncio.sleep(0.5)
            server.start()
        await check_nothing_lost(database, clients, server.url)
        assert all(client.connects >= 2 for client in clients)  # each lived through the crash
        assert sum(len(c.outcomes.acked) for c in clients) == PER_CHAT * sum(
            len(c.chat_ids) for c in clients)
