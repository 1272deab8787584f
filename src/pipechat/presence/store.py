"""Who is connected where: in this process alone, or across processes in Redis.

A store is told when a user's first socket on this process opens (`connected`) and when
their last one closes (`disconnected`), and decides which transitions to announce: `connected`
is True when the user was not shown online anywhere, `settle` (called once the grace period
after a disconnect is over) is True when they have no socket on any process and were shown
online. Each of the two answers is given to exactly one process.

Redis keys, under `<channel>:presence` (docs/scaling.md):

- `sockets:<user>`: a hash, host id -> 1 for each process where the user has a socket;
- `shown:<user>`: present while the user is announced online (the arbiter of announcements);
- `host-users:<host>`: the users a process has sockets for, or still has to settle;
- `alive:<host>`: refreshed every third of `PIPECHAT_PRESENCE_HOST_TTL_SECONDS`, expires after
  it; `hosts`: every process that has not been swept. A process whose `alive` key expired
  (killed, or stopped) is swept by the next process that notices: its users leave the hashes
  and those left with no socket anywhere are announced offline.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import redis.asyncio as aioredis

# What the service asks of a store, in order: a user's first socket here opened, their last
# one closed, their grace period ended.
Job = tuple[Literal["connect", "disconnect", "settle"], int]
# A transition to announce: (user, online).
Announcement = tuple[int, bool]

# KEYS: sockets:<user>, shown:<user>, host-users:<host>; ARGV: host, user. Forgets the user
# on this host unless they have a socket here again, then deletes `shown` only if they have
# no socket on any process: atomic, so a reconnect elsewhere cannot slip in between.
_SETTLE = """
if redis.call('hexists', KEYS[1], ARGV[1]) == 0 then redis.call('srem', KEYS[3], ARGV[2]) end
if redis.call('exists', KEYS[1]) == 0 then return redis.call('del', KEYS[2]) end
return 0
"""


class PresenceStore(Protocol):
    """Where the transitions of users' sockets are recorded and arbitrated."""

    async def apply(self, jobs: list[Job]) -> list[Announcement]:
        """Record `jobs` in order; the transitions to announce, in order."""

    async def sweep(self) -> list[int]:
        """Heartbeat; the users of processes found dead, to announce offline."""

    async def close(self) -> None:
        """Stop vouching for this process's users (others sweep them)."""


class LocalStore:
    """One process without Redis: its own sockets are all there is."""

    def __init__(self) -> None:
        self._here: set[int] = set()
        self._shown: set[int] = set()

    async def apply(self, jobs: list[Job]) -> list[Announcement]:
        """See `PresenceStore`."""
        announcements: list[Announcement] = []
        for kind, user_id in jobs:
            if kind == "connect":
                self._here.add(user_id)
                if user_id not in self._shown:
                    self._shown.add(user_id)
                    announcements.append((user_id, True))
            elif kind == "disconnect":
                self._here.discard(user_id)
            elif user_id not in self._here and user_id in self._shown:
                self._shown.discard(user_id)
                announcements.append((user_id, False))
        return announcements

    async def sweep(self) -> list[int]:
        """See `PresenceStore`: no other process to die."""
        return []

    async def close(self) -> None:
        """See `PresenceStore`."""


class RedisStore:
    """Several processes: per-user socket hashes, per-process heartbeats (module docstring)."""

    def __init__(self, url: str, channel: str, host_id: str, ttl: float,
                 timeout: float) -> None:
        self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout,
                                              socket_connect_timeout=timeout)
        self._prefix = f"{channel}:presence"
        self._host = host_id
        self._ttl_ms = int(ttl * 1000)
        self._settle = self._redis.register_script(_SETTLE)

    def _key(self, kind: str, name: object) -> str:
        return f"{self._prefix}:{kind}:{name}"

    async def apply(self, jobs: list[Job]) -> list[Announcement]:
        """See `PresenceStore`: one MULTI/EXEC (one round trip) for the whole batch.

        A disconnect leaves the user in `host-users` until they are settled.
        """
        watched: list[tuple[int, int, bool]] = []  # (result index, user, online)
        async with self._redis.pipeline(transaction=True) as pipe:
            for kind, user_id in jobs:
                if kind == "connect":
                    pipe.hset(self._key("sockets", user_id), self._host, 1)
                    pipe.sadd(self._key("host-users", self._host), user_id)
                    pipe.set(self._key("shown", user_id), 1, get=True)
                    watched.append((len(pipe.command_stack) - 1, user_id, True))
                elif kind == "disconnect":
                    pipe.hdel(self._key("sockets", user_id), self._host)
                else:
                    await self._queue_settle(pipe, user_id, self._host)
                    watched.append((len(pipe.command_stack) - 1, user_id, False))
            results = await pipe.execute()
        # `SET ... GET` answers the old value (none: not shown before); the script 1 or 0.
        return [(user_id, online) for index, user_id, online in watched
                if (results[index] is None if online else bool(results[index]))]

    async def _queue_settle(self, pipe: Any, user_id: int, host: str) -> None:
        keys = [self._key("sockets", user_id), self._key("shown", user_id),
                self._key("host-users", host)]
        await self._settle(keys=keys, args=[host, user_id], client=pipe)

    async def sweep(self) -> list[int]:
        """See `PresenceStore`: refresh our heartbeat, then sweep the hosts that lost theirs."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._key("alive", self._host), 1, px=self._ttl_ms)
            pipe.sadd(f"{self._prefix}:hosts", self._host)
            pipe.smembers(f"{self._prefix}:hosts")
            *_, members = await pipe.execute()
        others = sorted(m.decode() for m in members if m.decode() != self._host)
        gone: list[int] = []
        for host in others:
            if await self._redis.exists(self._key("alive", host)):
                continue
            # SREM answers 1 to one process only: that one sweeps.
            if await self._redis.srem(f"{self._prefix}:hosts", host):
                gone += await self._sweep_host(host)
        return gone

    async def _sweep_host(self, host: str) -> list[int]:
        users = [int(u) for u in await self._redis.smembers(self._key("host-users", host))]
        if not users:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in users:
                pipe.hdel(self._key("sockets", user_id), host)
            for user_id in users:
                await self._queue_settle(pipe, user_id, host)
            pipe.delete(self._key("host-users", host))
            results = await pipe.execute()
        settled = results[len(users):-1]
        return [user_id for user_id, gone in zip(users, settled, strict=True) if gone]

    async def close(self) -> None:
        """See `PresenceStore`: our heartbeat goes, so the next sweep settles our users."""
        try:
            await self._redis.delete(self._key("alive", self._host))
        finally:
            await self._redis.aclose()
