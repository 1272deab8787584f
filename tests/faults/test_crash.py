"""Fault 1: the server is killed with SIGKILL mid-stream and restarted on the same port."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from faults.conftest import (
    check_nothing_lost,
    make_world,
    server_env,
    start_clients,
    start_senders,
    wait_for_acks,
)
from pipechat.db import Database
from support import ServerProcess

pytestmark = pytest.mark.slow
PER_CHAT = 40


async def test_sigkill_mid_stream_loses_nothing(database_url: str, database: Database,
                                                tmp_path: Path) -> None:
    server = ServerProcess(server_env(database_url, tmp_path),
                           log_path=tmp_path / "server.log").start()
    try:
        world = await make_world(server.url)
        clients = start_clients(world, [[server.url]] * 3)
        try:
            senders = start_senders(clients, PER_CHAT)
            await asyncio.wait_for(wait_for_acks(clients, PER_CHAT), 60)
            server.kill()
            await asyncio.sleep(0.5)
            server.start()
            await asyncio.wait_for(asyncio.gather(*senders), 90)
        finally:
            for client in clients:
                await client.stop()
        await check_nothing_lost(database, clients, server.url)
        assert all(client.connects >= 2 for client in clients)  # each lived through the crash
        assert sum(len(c.outcomes.acked) for c in clients) == PER_CHAT * len(senders)
    finally:
        server.stop()
