"""Fault 2: two processes behind Redis; one is stopped and restarted, its clients move over."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from faults.conftest import (
    POSTGRES_ONLY,
    check_nothing_lost,
    load_with_fault,
    make_world,
    server_env,
    stopping,
    wait_for_acks,
)
from pipechat.db import Database
from support import REDIS_URL, ServerProcess, need_service

pytestmark = pytest.mark.slow
PER_CHAT = 40


@POSTGRES_ONLY
async def test_rolling_restart_moves_clients_without_loss(
    database_url: str, database: Database, tmp_path: Path
) -> None:
    redis_url = need_service("redis", REDIS_URL)
    env = server_env(database_url, tmp_path, PIPECHAT_REDIS_URL=redis_url,
                     PIPECHAT_REDIS_CHANNEL=f"rolling-{uuid.uuid4().hex}")
    first = ServerProcess(env, log_path=tmp_path / "first.log").start()
    second = ServerProcess(env, log_path=tmp_path / "second.log").start()
    with stopping(first, second):
        world = await make_world(first.url)
        # Users 0 and 1 start on the first process, user 2 on the second; all fail over.
        urls_of = [[first.url, second.url], [first.url, second.url], [second.url, first.url]]
        async with load_with_fault(world, urls_of, PER_CHAT) as clients:
            assert first.stop() == 0
            await asyncio.wait_for(wait_for_acks(clients, 2 * PER_CHAT), 60)
            first.start()
        assert clients[0].connects >= 2 and clients[1].connects >= 2
        # User 2 never left the second process and still got the others' messages live.
        others = {message_id for client in clients[:2]
                  for message_id in client.outcomes.acked.values()}
        assert clients[2].live & others
        await check_nothing_lost(database, clients, second.url)
