"""Fault 3: Redis goes away for a few seconds under two processes, then comes back."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from faults.clients import RecipeClient
from faults.conftest import (
    POSTGRES_ONLY,
    check_nothing_lost,
    load_with_fault,
    make_world,
    server_env,
    stopping,
)
from pipechat.db import Database
from support import REDIS_URL, RedisServer, ServerProcess, need_service

pytestmark = pytest.mark.slow
PER_CHAT = 60
OUTAGE_SECONDS = 3.0


async def probe_cross_process(sender: RecipeClient, receiver: RecipeClient, chat_id: int,
                              seconds: float) -> bool:
    """Send probes until one reaches the other process's client live."""
    deadline = asyncio.get_running_loop().time() + seconds
    index = 0
    while asyncio.get_running_loop().time() < deadline:
        await sender.send_all(chat_id, 1, f"probe-{index}", pause=0)
        message_id = sender.outcomes.acked[f"probe-{index}-0"]
        for _ in range(10):
            if message_id in receiver.live:
                return True
            await asyncio.sleep(0.05)
        index += 1
    return False


@POSTGRES_ONLY
async def test_redis_outage_keeps_saving_and_recovers(
    database_url: str, database: Database, tmp_path: Path
) -> None:
    need_service("redis", REDIS_URL)  # the machine has Redis installed and running
    redis = RedisServer(tmp_path)
    redis.start()
    env = server_env(database_url, tmp_path,
                     PIPECHAT_REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
                     PIPECHAT_REDIS_CHANNEL=f"outage-{uuid.uuid4().hex}")
    first = ServerProcess(env, log_path=tmp_path / "first.log").start()
    second = ServerProcess(env, log_path=tmp_path / "second.log").start()
    try:
        with stopping(first, second):
            world = await make_world(first.url)
            urls_of = [[first.url], [first.url], [second.url]]
            async with load_with_fault(world, urls_of, PER_CHAT) as clients:
                redis.stop()
                acked_before = sum(len(c.outcomes.acked) for c in clients)
                sent_before = set(clients[0].outcomes.acked.values())
                await asyncio.sleep(OUTAGE_SECONDS)
                acked_during = sum(len(c.outcomes.acked) for c in clients) - acked_before
                # Users 0 and 1 share both chats and process `first`.
                sent_during = set(clients[0].outcomes.acked.values()) - sent_before
                live_without_redis = sent_during & clients[1].live
                redis.start()
                resumed = await probe_cross_process(clients[0], clients[2], world.group_chat,
                                                    30)
            assert acked_during > 0  # saving and acknowledging went on without Redis
            # ...and so did live delivery to sockets of the same process.
            assert live_without_redis
            assert resumed  # cross-process delivery came back by itself
            for server in (first, second):
                assert server.process is not None and server.process.poll() is None
            await check_nothing_lost(database, clients, second.url)
    finally:
        redis.stop()
