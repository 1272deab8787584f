"""Redis connections for room pub/sub, and whether they use sharded pub/sub."""

from __future__ import annotations

import logging
import time
from typing import Literal

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError

from pipechat.logs import describe_error

log = logging.getLogger("pipechat.realtime")

# Seconds between reconnection attempts after a failure: doubled each time up to the maximum.
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 5.0
# A lasting outage is logged once a minute, not once per attempt.
LOG_EVERY_SECONDS = 60.0

Sharding = Literal["auto", "on", "off"]


class RedisLinks:
    """Makes the connections, and decides (once per process) sharded or plain pub/sub."""

    def __init__(self, url: str, sharding: Sharding, timeout: float) -> None:
        self._url = url
        self._timeout = timeout
        self.sharded: bool | None = {"on": True, "off": False}.get(sharding)

    def client(self) -> aioredis.Redis:
        """A client of its own: callers reconnect themselves, with backoff, on any failure."""
        # RESP2: redis-py parses pub/sub messages faster in it than in RESP3.
        return aioredis.Redis.from_url(
            self._url, protocol=2, socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout, retry=Retry(NoBackoff(), 0))

    async def use_sharded(self, client: aioredis.Redis) -> bool:
        """Whether to use SPUBLISH/SSUBSCRIBE; in `auto`, asks Redis once (7.0 has them)."""
        if self.sharded is None:
            try:
                await client.pubsub_shardnumsub()
                self.sharded = True
            except ResponseError:
                self.sharded = False
            log.info("room pub/sub: %s", "sharded" if self.sharded else "plain (no Redis 7)")
        return self.sharded


class Backoff:
    """Waits between reconnection attempts, and logs an outage without flooding the log."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._delay = RETRY_FIRST_SECONDS
        self._logged_at = -LOG_EVERY_SECONDS
        self.failing = False

    def failed(self, exc: BaseException) -> float:
        """Note a failure; returns how long to wait before the next attempt."""
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            self._logged_at = now
            log.warning("Redis unavailable for %s; retrying", self._what,
                        extra=describe_error(exc))
        self.failing = True
        delay = self._delay
        self._delay = min(self._delay * 2, RETRY_MAX_SECONDS)
        return delay

    def succeeded(self) -> None:
        """Back to a quick first retry; says so if an outage was logged."""
        if self.failing:
            log.info("Redis available again for %s", self._what)
        self.failing = False
        self._delay = RETRY_FIRST_SECONDS
        self._logged_at = -LOG_EVERY_SECONDS
