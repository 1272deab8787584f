"""The two counter backends: in-process (bounded memory) and Redis (shared, fails open)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from pipechat.limits import counters as counters_module
from pipechat.limits.counters import LocalCounters, RedisCounters, Rule
from support import REDIS_URL, free_port, need_service

RULE = Rule("test", limit=3, window=60)
OTHER = Rule("other", limit=3, window=10)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_local_windows_count_and_end() -> None:
    clock = Clock()
    counters = LocalCounters(max_keys=100, clock=clock)
    hits = [(await counters.hit([(RULE, "a"), (OTHER, "a")])) for _ in range(3)]
    assert [(h[0].count, h[1].count) for h in hits] == [(1, 1), (2, 2), (3, 3)]
    assert hits[0][0].retry_after == 60 and hits[0][1].retry_after == 10
    clock.now += 10
    [rule_hit, other_hit] = await counters.hit([(RULE, "a"), (OTHER, "a")])
    assert (rule_hit.count, rule_hit.retry_after) == (4, 50)
    assert (other_hit.count, other_hit.retry_after) == (1, 10)  # a new window
    clock.now += 60
    await counters.hit([(RULE, "b")])
    assert counters.tracked("test") == 1  # "a" ended and was dropped


async def test_local_forgive_never_goes_below_zero_nor_revives_an_ended_window() -> None:
    clock = Clock()
    counters = LocalCounters(max_keys=100, clock=clock)
    await counters.hit([(RULE, "a"), (RULE, "b")])
    await counters.forgive([(RULE, "a"), (RULE, "a")], clear=[(RULE, "b")])
    assert [h.count for h in await counters.hit([(RULE, "a"), (RULE, "b")])] == [1, 1]
    clock.now += 61
    await counters.forgive([(RULE, "a")])
    assert (await counters.hit([(RULE, "a")]))[0].count == 1


async def test_local_memory_is_bounded_under_many_keys() -> None:
    counters = LocalCounters(max_keys=1000)
    for start in range(0, 200_000, 1000):
        await counters.hit([(RULE, f"attacker-{n}") for n in range(start, start + 1000)])
        assert counters.tracked("test") <= 1000
    # The newest keys are the ones kept, with their counts.
    assert (await counters.hit([(RULE, "attacker-199999")]))[0].count == 2


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    url = need_service("redis", REDIS_URL)
    yield url


def prefix() -> str:
    return f"pipechat-test-{uuid.uuid4().hex}:limits"


async def test_redis_counts_are_shared_and_expire(redis_url: str) -> None:
    shared = prefix()
    first = RedisCounters(redis_url, shared, LocalCounters(100))
    second = RedisCounters(redis_url, shared, LocalCounters(100))
    elsewhere = RedisCounters(redis_url, prefix(), LocalCounters(100))
    client = aioredis.Redis.from_url(redis_url)
    try:
        counts = [(await counters.hit([(RULE, "k")]))[0] for counters in (first, second, first)]
        assert [hit.count for hit in counts] == [1, 2, 3]
        assert all(0 < hit.retry_after <= 60 for hit in counts)
        assert (await elsewhere.hit([(RULE, "k")]))[0].count == 1  # another deployment
        assert 0 < await client.ttl(f"{shared}:test:k") <= 60  # every key expires
        await second.forgive([(RULE, "k")])
        assert (await first.hit([(RULE, "k")]))[0].count == 3
        await first.forgive([], clear=[(RULE, "k")])
        assert await client.exists(f"{shared}:test:k") == 0
        # Forgiving a key whose window has ended must not create one without an expiry.
        await second.forgive([(RULE, "gone")])
        assert await client.exists(f"{shared}:test:gone") == 0
        short = Rule("short", limit=1, window=1)
        assert (await first.hit([(short, "k")]))[0].count == 1
        await asyncio.sleep(1.5)
        assert (await second.hit([(short, "k")]))[0].count == 1  # the window ended
    finally:
        for counters in (first, second, elsewhere):
            await counters.close()
        await client.aclose()


async def test_redis_down_falls_back_to_this_process_with_one_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    fallback = LocalCounters(100)
    counters = RedisCounters(f"redis://127.0.0.1:{free_port()}/0", prefix(), fallback)
    try:
        with caplog.at_level(logging.WARNING, logger="pipechat.limits"):
            counts = [(await counters.hit([(RULE, "k")]))[0].count for _ in range(5)]
            await counters.forgive([(RULE, "k")])
    finally:
        await counters.close()
    assert counts == [1, 2, 3, 4, 5]  # still counted, in this process
    assert (await fallback.hit([(RULE, "k")]))[0].count == 5
    warnings = [r for r in caplog.records if r.name == "pipechat.limits"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "redis unavailable" in warnings[0].getMessage()


class PrivateRedis:
    """A redis-server of this test's own, so stopping it disturbs nobody else."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.data_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def start(self) -> None:
        """Spawn the server and wait until it answers."""
        self.spawn()
        client = aioredis.Redis.from_url(self.url)
        try:
            for _ in range(500):
                try:
                    await client.ping()
                    return
                except aioredis.ConnectionError:
                    await asyncio.sleep(0.02)
            pytest.fail("redis-server did not start")
        finally:
            await client.aclose()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    yield server
    server.stop()


async def test_counts_are_shared_again_once_redis_is_back(
        private_redis: PrivateRedis, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # Retry Redis at every call (by default a failure makes calls skip it for 5 s).
    monkeypatch.setattr(counters_module, "REDIS_RETRY_SECONDS", 0.0)
    await private_redis.start()
    first = RedisCounters(private_redis.url, prefix(), LocalCounters(100))
    second = RedisCounters(private_redis.url, first._prefix, LocalCounters(100))
    try:
        assert [(await c.hit([(RULE, "k")]))[0].count for c in (first, second)] == [1, 2]
        private_redis.stop()
        with caplog.at_level(logging.INFO, logger="pipechat.limits"):
            # Each process counts on its own meanwhile, and says so once.
            assert [(await first.hit([(RULE, "k")]))[0].count for _ in range(3)] == [1, 2, 3]
            await private_redis.start()  # empty: Redis keeps no data here
            assert [(await c.hit([(RULE, "k")]))[0].count for c in (first, second)] == [1, 2]
        messages = [(r.levelno, r.getMessage()) for r in caplog.records
                    if r.name == "pipechat.limits"]
        assert [level for level, _ in messages] == [logging.WARNING, logging.INFO]
        assert "redis is back" in messages[1][1]
    finally:
        await first.close()
        await second.close()
