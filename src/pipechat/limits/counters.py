"""Fixed-window counters behind the throttles: one process's memory, or Redis for many.

A window opens at a key's first hit and lasts the rule's `window` seconds; every hit inside it
adds one. Fixed windows (not sliding) keep a check to one atomic round trip to Redis and the
in-process table to one entry per key; the price is that a client may get up to twice a limit
across the boundary of two windows, which the defaults allow for.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

log = logging.getLogger("pipechat.limits")

# Seconds: a Redis that does not answer must not hold logins up for long (it fails open).
REDIS_TIMEOUT = 1.0
# After a failure, calls skip Redis this long, so a Redis that hangs costs one timeout, not one
# per request.
REDIS_RETRY_SECONDS = 5.0
# How often a lasting Redis outage is logged again (one line, not one per request).
OUTAGE_LOG_INTERVAL = 60.0

# Undo hits (decrement) or clear keys, without ever creating a key: a DECR on a key whose
# window just ended would leave a counter without an expiry, that is a lockout for ever.
_FORGIVE_SCRIPT = """
for i, key in ipairs(KEYS) do
  if ARGV[i] == 'clear' then
    redis.call('DEL', key)
  elseif redis.call('EXISTS', key) == 1 then
    redis.call('DECR', key)
  end
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Rule:
    """What is counted (`name`), how many hits a window allows, and its length in seconds."""

    name: str
    limit: int
    window: int


@dataclass(frozen=True, slots=True)
class Hit:
    """A key's count in its current window (this hit included) and the seconds left in it."""

    count: int
    retry_after: float


Key = tuple[Rule, str]


def hashed(value: str) -> str:
    """A short fixed-size digest of a key: bounded memory, and no emails stored in clear."""
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


class Counters(Protocol):
    """The two backends: `LocalCounters` and `RedisCounters`."""

    async def hit(self, keys: Sequence[Key]) -> list[Hit]:
        """Count one hit on each key, atomically with opening its window if there is none."""

    async def forgive(self, undo: Sequence[Key], clear: Sequence[Key] = ()) -> None:
        """Take one hit back from each of `undo` and drop the windows of `clear`."""

    async def close(self) -> None:
        """Release connections."""


class _Window:
    __slots__ = ("count", "ends")

    def __init__(self, ends: float) -> None:
        self.count = 0
        self.ends = ends


_NO_WINDOWS: OrderedDict[str, _Window] = OrderedDict()


class LocalCounters:
    """Counters in this process's memory, at most `max_keys` windows per rule.

    Each rule has a table in insertion order; its windows all have the rule's length, so the
    table is also in order of expiry and ended windows are dropped from its front. When a table
    is full the oldest window is dropped: an attacker cycling keys evicts the oldest counts
    (a reset of someone's window) but cannot grow memory.
    """

    def __init__(self, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_keys = max_keys
        self._clock = clock
        self._tables: dict[str, OrderedDict[str, _Window]] = {}

    async def hit(self, keys: Sequence[Key]) -> list[Hit]:
        """Count one hit on each key."""
        now = self._clock()
        return [self._hit_one(rule, key, now) for rule, key in keys]

    async def forgive(self, undo: Sequence[Key], clear: Sequence[Key] = ()) -> None:
        """Take a hit back from `undo`, drop `clear`; ended windows are left alone."""
        now = self._clock()
        for rule, key in undo:
            window = self._tables.get(rule.name, _NO_WINDOWS).get(key)
            if window is not None and window.ends > now and window.count > 0:
                window.count -= 1
        for rule, key in clear:
            self._tables.get(rule.name, _NO_WINDOWS).pop(key, None)

    async def close(self) -> None:
        """Nothing to release."""

    def tracked(self, rule_name: str) -> int:
        """How many windows this process keeps for a rule (for tests and debugging)."""
        return len(self._tables.get(rule_name, ()))

    def _hit_one(self, rule: Rule, key: str, now: float) -> Hit:
        table = self._tables.setdefault(rule.name, OrderedDict())
        while table:
            first = next(iter(table.values()))
            if first.ends > now:
                break
            table.popitem(last=False)
        window = table.get(key)
        if window is None:
            if len(table) >= self._max_keys:
                table.popitem(last=False)
            window = table[key] = _Window(now + rule.window)
        window.count += 1
        return Hit(window.count, window.ends - now)


class RedisCounters:
    """Counters in Redis, shared by every process of a deployment (keys under `prefix`).

    If Redis fails, calls fall back to this process's `LocalCounters` (the limits then hold
    per process) for `REDIS_RETRY_SECONDS` at a time, and a WARNING is logged (once a minute at
    most): a Redis outage must neither refuse every login nor hold each one up.
    """

    def __init__(self, url: str, prefix: str, fallback: LocalCounters) -> None:
        # One retry on a broken connection: after a Redis restart, a pooled connection fails
        # once before a new one is made, and that once should not fall back.
        retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
        self._redis = aioredis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT,
                                              socket_connect_timeout=REDIS_TIMEOUT, retry=retry)
        self._prefix = prefix
        self._fallback = fallback
        self._forgive = self._redis.register_script(_FORGIVE_SCRIPT)
        self._down = False
        self._retry_at = 0.0
        self._logged_at = 0.0

    async def hit(self, keys: Sequence[Key]) -> list[Hit]:
        """Count one hit on each key: SET NX EX, INCR and PTTL per key in one MULTI."""
        if self._down and time.monotonic() < self._retry_at:
            return await self._fallback.hit(keys)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for rule, key in keys:
                    name = self._name(rule, key)
                    pipe.set(name, 0, ex=rule.window, nx=True)
                    pipe.incr(name)
                    pipe.pttl(name)
                replies = await pipe.execute()
        except RedisError as exc:
            self._failed(exc)
            return await self._fallback.hit(keys)
        self._recovered()
        return [Hit(int(replies[3 * i + 1]), max(int(replies[3 * i + 2]), 0) / 1000)
                for i in range(len(keys))]

    async def forgive(self, undo: Sequence[Key], clear: Sequence[Key] = ()) -> None:
        """Take a hit back from `undo` and drop `clear`, in one script call."""
        names = [self._name(rule, key) for rule, key in (*undo, *clear)]
        modes = ["undo"] * len(undo) + ["clear"] * len(clear)
        if self._down and time.monotonic() < self._retry_at:
            await self._fallback.forgive(undo, clear)
            return
        try:
            await self._forgive(keys=names, args=modes)
        except RedisError as exc:
            self._failed(exc)
            await self._fallback.forgive(undo, clear)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

    def _name(self, rule: Rule, key: str) -> str:
        return f"{self._prefix}:{rule.name}:{key}"

    def _failed(self, exc: RedisError) -> None:
        now = time.monotonic()
        if not self._down or now - self._logged_at >= OUTAGE_LOG_INTERVAL:
            log.warning("redis unavailable (%s): throttles are counted per process until it "
                        "is back", type(exc).__name__)
            self._logged_at = now
        self._down = True
        self._retry_at = now + REDIS_RETRY_SECONDS

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            log.info("redis is back: throttles are shared by every process again")
