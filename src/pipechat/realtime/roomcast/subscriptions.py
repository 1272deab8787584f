"""The listening connection: subscribed to the channels of the rooms this process hosts.

The client manager says which channels it wants (`want`, `drop`) as rooms gain their first
local member and lose their last one. The changes of one loop turn go to Redis together, in
one SSUBSCRIBE (or SUBSCRIBE) and one SSUNSUBSCRIBE command. `confirmed` waits until Redis
has acknowledged a subscription, so a socket that entered a room misses nothing published
afterwards; it never waits while Redis is unreachable (nothing would arrive anyway).

On a lost connection the reader reconnects with backoff and subscribes again to every wanted
channel; what was published meanwhile is lost for this process's sockets (clients catch up).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from pipechat.logs import describe_error
from pipechat.metrics import PUBSUB_CHANNELS
from pipechat.realtime.roomcast.links import Backoff, RedisLinks

log = logging.getLogger("pipechat.realtime")

# Channels per SSUBSCRIBE command when (re)subscribing to everything at once.
CHUNK = 1000


class Subscriptions:
    """The channels this process wants, and the one connection that listens to them."""

    def __init__(self, links: RedisLinks, timeout: float) -> None:
        self._links = links
        self._timeout = timeout
        # Channel -> what it is for: (namespace, room), or None (this process's own channel).
        self._wanted: dict[bytes, tuple[str, Any] | None] = {}
        self._dirty: set[bytes] = set()
        self._live: set[bytes] = set()  # subscribed as far as the commands sent go
        self._unconfirmed: dict[bytes, int] = {}  # subscribe commands not acknowledged yet
        self._waiters: dict[bytes, list[asyncio.Future[None]]] = {}
        self._pubsub: PubSub | None = None  # set while connected
        self._sharded = False
        self._sync_task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """True while the listening connection is up (and has subscribed to everything)."""
        return self._pubsub is not None

    def want(self, channel: bytes, target: tuple[str, Any] | None) -> None:
        """Subscribe to `channel` (soon: with the other changes of this loop turn)."""
        self._wanted[channel] = target
        self._changed(channel)

    def drop(self, channel: bytes) -> None:
        """Unsubscribe from `channel`."""
        if self._wanted.pop(channel, False) is not False:
            self._changed(channel)
            self._release(self._waiters.pop(channel, ()))

    def target(self, channel: bytes) -> tuple[str, Any] | None:
        """The (namespace, room) a channel was subscribed for; None if not wanted (any more)."""
        return self._wanted.get(channel)

    async def confirmed(self, channel: bytes) -> None:
        """Wait until Redis confirmed the subscription to `channel`, unless it is unreachable.

        A Redis that does not confirm within the timeout is treated as lost: the connection
        is dropped and made again, and nobody waits meanwhile.
        """
        if (self._pubsub is None or channel not in self._wanted
                or (channel in self._live and channel not in self._unconfirmed)):
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(waiter)
        try:
            async with asyncio.timeout(self._timeout):
                await waiter
        except TimeoutError:
            log.warning("Redis did not confirm a subscription in time; reconnecting")
            await self._disconnect()

    async def messages(self) -> AsyncIterator[tuple[bytes, bytes]]:
        """(channel, data) of every message published to a wanted channel; never ends."""
        backoff = Backoff("receiving room events")
        while True:
            try:
                pubsub = await self._connect()
                backoff.succeeded()
                kind = b"smessage" if self._sharded else b"message"
                while True:
                    response = await pubsub.parse_response(block=True)
                    if response[0] == kind:
                        yield response[1], response[2]
                    else:
                        self._acknowledged(response)
            except Exception as exc:  # Redis's errors and any other: never end the listener
                if not isinstance(exc, RedisError | OSError):
                    log.error("receiving room events failed", extra=describe_error(exc))
                await self._disconnect()
                await asyncio.sleep(backoff.failed(exc))

    async def close(self) -> None:
        """Close the connection (the reader's task is the caller's to cancel)."""
        await self._disconnect()

    async def _connect(self) -> PubSub:
        client = self._links.client()
        self._sharded = await self._links.use_sharded(client)
        # The subscriptions are this class's own (commands sent raw), so redis-py's PubSub
        # neither replays them on reconnect nor spends time on each message's bookkeeping.
        pubsub = client.pubsub()
        channels = list(self._wanted)
        self._live = set(channels)
        self._dirty.clear()
        self._count_sent(channels)
        try:
            await pubsub.connect()  # type: ignore[no-untyped-call]
            for start in range(0, len(channels), CHUNK):
                await self._subscribe(pubsub, channels[start:start + CHUNK])
        except BaseException:
            await self._close(pubsub)
            raise
        self._pubsub = pubsub
        PUBSUB_CHANNELS.set(len(self._live))
        # Changes made while connecting: subscribed to above, or still marked dirty.
        self._schedule()
        return pubsub

    async def _disconnect(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._live.clear()
        self._unconfirmed.clear()
        PUBSUB_CHANNELS.set(0)
        waiters, self._waiters = self._waiters, {}
        for batch in waiters.values():
            self._release(batch)
        if pubsub is not None:
            await self._close(pubsub)

    @staticmethod
    async def _close(pubsub: PubSub) -> None:
        try:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await pubsub.connection_pool.disconnect()
        except (RedisError, OSError) as exc:
            log.info("closing the pub/sub connection failed", extra=describe_error(exc))

    def _changed(self, channel: bytes) -> None:
        self._dirty.add(channel)
        self._schedule()

    def _schedule(self) -> None:
        if self._dirty and self._pubsub is not None and self._sync_task is None:
            self._sync_task = asyncio.get_running_loop().create_task(self._sync())

    async def _sync(self) -> None:
        """Send the subscription changes gathered so far, until there are none left."""
        try:
            while self._dirty and (pubsub := self._pubsub) is not None:
                dirty, self._dirty = self._dirty, set()
                added = [c for c in dirty if c in self._wanted and c not in self._live]
                removed = [c for c in dirty if c not in self._wanted and c in self._live]
                self._live.update(added)
                self._live.difference_update(removed)
                self._count_sent(added)
                PUBSUB_CHANNELS.set(len(self._live))
                try:
                    if added:
                        await self._subscribe(pubsub, added)
                    if removed:
                        await self._unsubscribe(pubsub, removed)
                except (RedisError, OSError) as exc:
                    # The reader sees the broken connection too; make sure it does.
                    log.info("sending subscriptions failed", extra=describe_error(exc))
                    await self._disconnect()
        finally:
            self._sync_task = None

    async def _subscribe(self, pubsub: PubSub, channels: list[bytes]) -> None:
        # execute_command only sends; the reader gets the acknowledgements.
        await pubsub.execute_command("SSUBSCRIBE" if self._sharded else "SUBSCRIBE", *channels)

    async def _unsubscribe(self, pubsub: PubSub, channels: list[bytes]) -> None:
        await pubsub.execute_command("SUNSUBSCRIBE" if self._sharded else "UNSUBSCRIBE",
                                     *channels)

    def _count_sent(self, channels: Iterable[bytes]) -> None:
        for channel in channels:
            self._unconfirmed[channel] = self._unconfirmed.get(channel, 0) + 1

    def _acknowledged(self, response: Any) -> None:
        """A (un)subscribe reply: the last pending subscribe of a channel releases its waiters."""
        if response[0] not in (b"ssubscribe", b"subscribe"):
            return
        channel = response[1]
        left = self._unconfirmed.get(channel, 0) - 1
        if left > 0:
            self._unconfirmed[channel] = left
            return
        self._unconfirmed.pop(channel, None)
        self._release(self._waiters.pop(channel, ()))

    @staticmethod
    def _release(waiters: Iterable[asyncio.Future[None]]) -> None:
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
