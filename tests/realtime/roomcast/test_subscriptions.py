"""The listening connection: subscriptions follow want/drop, confirmed, restored after a loss."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from pipechat.realtime.roomcast.links import RedisLinks, Sharding
from pipechat.realtime.roomcast.subscriptions import Subscriptions
from support import REDIS_URL, RedisServer, need_service

pytestmark = pytest.mark.redis
WAIT = 20.0  # a ceiling for a hung Redis, never a measured duration
MODES: list[Sharding] = ["on", "off"]


async def until(condition: Any) -> None:
    """Wait until `condition()` holds (a state, not a duration)."""
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


class Listening:
    """Subscriptions with a reader task collecting what arrives."""

    def __init__(self, url: str, sharding: Sharding) -> None:
        self.subscriptions = Subscriptions(RedisLinks(url, sharding, WAIT), WAIT)
        self.received: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for channel, data in self.subscriptions.messages():
            self.received.put_nowait((channel, data))

    async def next(self) -> tuple[bytes, bytes]:
        return await asyncio.wait_for(self.received.get(), WAIT)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.subscriptions.close()


@pytest.fixture
async def admin() -> AsyncIterator[aioredis.Redis]:
    """A plain client of the test Redis, for publishing and PUBSUB counts."""
    client = aioredis.Redis.from_url(need_service("redis", REDIS_URL))
    yield client
    await client.aclose()


async def subscribers(client: aioredis.Redis, sharding: Sharding, channel: bytes) -> int:
    """How many connections subscribe to `channel` (PUBSUB SHARDNUMSUB or NUMSUB)."""
    command = "SHARDNUMSUB" if sharding == "on" else "NUMSUB"
    reply = await client.execute_command("PUBSUB", command, channel)  # type: ignore[no-untyped-call]
    return int(reply[1])


async def publish(client: aioredis.Redis, sharding: Sharding, channel: bytes,
                  data: bytes) -> None:
    await client.execute_command(  # type: ignore[no-untyped-call]
        "SPUBLISH" if sharding == "on" else "PUBLISH", channel, data)


@pytest.mark.parametrize("sharding", MODES)
async def test_subscriptions_follow_want_and_drop(admin: aioredis.Redis,
                                                  sharding: Sharding) -> None:
    listening = Listening(need_service("redis", REDIS_URL), sharding)
    subscriptions = listening.subscriptions
    room, other = (f"test:{uuid.uuid4().hex}".encode() for _ in range(2))
    try:
        await until(lambda: subscriptions.connected)
        assert await subscribers(admin, sharding, room) == 0
        subscriptions.want(room, ("/", "r"))
        await subscriptions.confirmed(room)
        # Confirmed means Redis holds the subscription now: nothing published is missed.
        assert await subscribers(admin, sharding, room) == 1
        await publish(admin, sharding, room, b"hello")
        assert await listening.next() == (room, b"hello")
        assert subscriptions.target(room) == ("/", "r")

        subscriptions.drop(room)
        subscriptions.want(other, ("/", "o"))
        await subscriptions.confirmed(other)
        # One connection, commands in order: the unsubscribe was done before this confirm.
        assert await subscribers(admin, sharding, room) == 0
        assert await subscribers(admin, sharding, other) == 1
        assert subscriptions.target(room) is None
        await publish(admin, sharding, room, b"not for us")
        await publish(admin, sharding, other, b"for us")
        assert await listening.next() == (other, b"for us")
    finally:
        await listening.close()


async def test_changes_of_one_loop_turn_are_netted(admin: aioredis.Redis) -> None:
    listening = Listening(need_service("redis", REDIS_URL), "on")
    subscriptions = listening.subscriptions
    channels = [f"test:{uuid.uuid4().hex}".encode() for _ in range(50)]
    try:
        await until(lambda: subscriptions.connected)
        for channel in channels:
            subscriptions.want(channel, ("/", channel))
        for channel in channels[::2]:
            subscriptions.drop(channel)  # before anything was sent: never subscribed
        await subscriptions.confirmed(channels[-1])
        counts = [await subscribers(admin, "on", channel) for channel in channels]
        assert counts == [0, 1] * 25
    finally:
        await listening.close()


async def test_a_lost_connection_is_made_again_with_every_subscription(
        tmp_path: Path) -> None:
    need_service("redis", REDIS_URL)  # the machine has Redis installed
    redis = RedisServer(tmp_path)
    redis.start()
    listening = Listening(redis.url, "on")
    subscriptions = listening.subscriptions
    admin = aioredis.Redis.from_url(redis.url)
    room, later = b"test:room", b"test:later"
    try:
        await until(lambda: subscriptions.connected)
        subscriptions.want(room, ("/", "r"))
        await subscriptions.confirmed(room)
        redis.stop()
        await until(lambda: not subscriptions.connected)
        # Nobody waits for a Redis that is not there.
        subscriptions.want(later, ("/", "l"))
        await subscriptions.confirmed(later)
        redis.start()
        await until(lambda: subscriptions.connected)
        await subscriptions.confirmed(later)
        assert await subscribers(admin, "on", room) == 1
        await publish(admin, "on", room, b"again")
        assert await listening.next() == (room, b"again")
    finally:
        await listening.close()
        await admin.aclose()
        redis.stop()
