"""The outbox: pipelined publishing, in order, bounded with drop-oldest."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from pipechat.realtime.roomcast.links import RedisLinks, Sharding
from pipechat.realtime.roomcast.outbox import Outbox
from support import REDIS_URL, free_port, need_service

pytestmark = pytest.mark.redis
WAIT = 20.0  # a ceiling for a hung Redis, never a measured duration


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


class Subscriber:
    """A plain redis-py subscriber to one channel."""

    def __init__(self, sharding: Sharding, channel: bytes) -> None:
        self.client = aioredis.Redis.from_url(need_service("redis", REDIS_URL))
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.sharding = sharding
        self.channel = channel

    async def __aenter__(self) -> Subscriber:
        if self.sharding == "on":
            await self.pubsub.ssubscribe(self.channel)
        else:
            await self.pubsub.subscribe(self.channel)
        # The reply to (S)SUBSCRIBE: from here on nothing published is missed.
        await self.pubsub.get_message(timeout=WAIT)
        return self

    async def __aexit__(self, *_exc: Any) -> None:
        await self.pubsub.aclose()
        await self.client.aclose()

    async def take(self, count: int) -> list[bytes]:
        """The data of the next `count` messages."""
        got: list[bytes] = []
        async with asyncio.timeout(WAIT):
            while len(got) < count:
                message = await self.pubsub.get_message(timeout=None)
                if message is not None:
                    got.append(message["data"])
        return got


@pytest.fixture
async def started() -> AsyncIterator[list[Outbox]]:
    """Outboxes the test starts; closed afterwards."""
    outboxes: list[Outbox] = []
    yield outboxes
    for outbox in outboxes:
        await outbox.close()


@pytest.mark.parametrize("sharding", ["on", "off"])
async def test_frames_queued_together_go_in_one_pipeline_in_order(
        sharding: Sharding, started: list[Outbox]) -> None:
    channel = f"test:outbox:{sharding}".encode()
    outbox = Outbox(RedisLinks(need_service("redis", REDIS_URL), sharding, WAIT), 1000)
    started.append(outbox)
    pipelines = metric("pipechat_pubsub_publish_batch_size_count")
    published = metric("pipechat_pubsub_published_total")
    async with Subscriber(sharding, channel) as subscriber:
        for n in range(100):
            outbox.put(channel, b"%d" % n)
        outbox.start()
        assert await outbox.flush(WAIT)
        assert await subscriber.take(100) == [b"%d" % n for n in range(100)]
    # One round trip for the hundred, not one each.
    assert metric("pipechat_pubsub_publish_batch_size_count") == pipelines + 1
    assert metric("pipechat_pubsub_published_total") == published + 100


async def test_a_full_outbox_drops_the_oldest_frames(
        started: list[Outbox], caplog: pytest.LogCaptureFixture) -> None:
    channel = b"test:outbox:full"
    outbox = Outbox(RedisLinks(need_service("redis", REDIS_URL), "on", WAIT), 5)
    started.append(outbox)
    dropped = metric("pipechat_pubsub_dropped_total")
    async with Subscriber("on", channel) as subscriber:
        outbox.start()
        outbox.put(channel, b"first")
        # The flusher takes it and waits for Redis: what is put meanwhile stays queued.
        async with asyncio.timeout(WAIT):
            while len(outbox):  # noqa: ASYNC110
                await asyncio.sleep(0)
        with caplog.at_level(logging.WARNING, logger="pipechat.realtime"):
            for n in range(20):
                outbox.put(channel, b"%d" % n)
        assert len(outbox) == 5
        assert await outbox.flush(WAIT)
        assert await subscriber.take(6) == [b"first", b"15", b"16", b"17", b"18", b"19"]
    assert metric("pipechat_pubsub_dropped_total") == dropped + 15
    # One WARNING for the overflow, not one per frame.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["pub/sub outbox full (5 frames): dropping the oldest"]


async def test_frames_wait_for_an_unreachable_redis_within_the_bound(
        started: list[Outbox], caplog: pytest.LogCaptureFixture) -> None:
    outbox = Outbox(RedisLinks(f"redis://127.0.0.1:{free_port()}/0", "on", 1.0), 5)
    started.append(outbox)
    with caplog.at_level(logging.WARNING, logger="pipechat.realtime"):
        outbox.start()
        for n in range(3):
            outbox.put(b"test:nowhere", b"%d" % n)
        async with asyncio.timeout(WAIT):
            # Until an attempt failed and the flusher waits to retry with the batch put back.
            while not (len(outbox) == 3 and any(  # noqa: ASYNC110
                    "Redis unavailable" in r.getMessage() for r in caplog.records)):
                await asyncio.sleep(0.01)
        outbox.put(b"test:nowhere", b"3")
        assert len(outbox) == 4
        assert not await outbox.flush(0.1)
