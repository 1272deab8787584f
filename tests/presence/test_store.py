"""The presence stores: which process announces what, on a real Redis and in-process."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from pipechat.presence.store import LocalStore, RedisStore
from support import REDIS_URL, need_service


async def test_local_store_announces_first_connect_and_settled_absence() -> None:
    store = LocalStore()
    assert await store.apply([("connect", 1), ("connect", 2)]) == [(1, True), (2, True)]
    # Back within the grace period: settling finds a socket, nothing to announce.
    assert await store.apply([("disconnect", 1), ("connect", 1), ("settle", 1)]) == []
    assert await store.apply([("disconnect", 1), ("settle", 1), ("settle", 1)]) == [(1, False)]
    assert await store.sweep() == []


@pytest.mark.redis
async def test_redis_stores_share_users_and_sweep_a_dead_process() -> None:
    url = need_service("redis", REDIS_URL)
    channel = f"pipechat-test-{uuid.uuid4().hex}"
    a = RedisStore(url, channel, "a" * 32, ttl=1.0, timeout=2.0)
    b = RedisStore(url, channel, "b" * 32, ttl=1.0, timeout=2.0)
    try:
        assert await a.apply([("connect", 1)]) == [(1, True)]
        assert await b.apply([("connect", 1)]) == []  # shown already, by A
        assert await a.apply([("disconnect", 1), ("settle", 1)]) == []  # still on B
        assert await b.apply([("disconnect", 1), ("settle", 1)]) == [(1, False)]
        assert await b.apply([("settle", 1)]) == []  # exactly once

        assert await a.apply([("connect", 2), ("connect", 3)]) == [(2, True), (3, True)]
        assert await b.apply([("connect", 3)]) == []
        assert await a.sweep() == [] and await b.sweep() == []
        await asyncio.sleep(1.3)  # A stops beating: its heartbeat key expires
        # User 3 still has a socket on B; user 2 had only A.
        assert await b.sweep() == [2]
        assert await b.sweep() == []
    finally:
        await b.close()
        await a.close()
