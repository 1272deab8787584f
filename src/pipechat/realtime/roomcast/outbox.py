"""The bounded queue of frames to publish, sent to Redis in pipelines by one task.

Emitting never waits for Redis: it appends to the outbox. The flusher takes everything queued
and publishes it in one pipeline (one round trip); what is queued meanwhile goes in the next
one, so the batch grows with the load instead of the round trips. One task and one connection
keep each channel's frames in order.

Overload policy: past `max_frames` the oldest queued frame is dropped (counted in
`pipechat_pubsub_dropped_total`, with a WARNING at most once a minute). A dropped frame is a
live delivery lost on the other processes; clients see the gap through `previousId` and fetch
it from history (README, "Delivery guarantee").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from pipechat.logs import describe_error
from pipechat.metrics import PUBSUB_BATCH_SIZE, PUBSUB_DROPPED, PUBSUB_PUBLISHED
from pipechat.realtime.roomcast.links import LOG_EVERY_SECONDS, Backoff, RedisLinks

log = logging.getLogger("pipechat.realtime")


class Outbox:
    """Frames waiting for Redis, at most `max_frames`, published in pipelines."""

    def __init__(self, links: RedisLinks, max_frames: int) -> None:
        self._links = links
        self._max = max_frames
        self._frames: deque[tuple[bytes, bytes]] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._idle: asyncio.Event = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._dropped_logged_at = -LOG_EVERY_SECONDS

    def __len__(self) -> int:
        return len(self._frames)

    def put(self, channel: bytes, frame: bytes) -> None:
        """Queue a frame for `channel`; drops the oldest one when the outbox is full."""
        if len(self._frames) >= self._max:
            self._frames.popleft()
            self._dropped()
        self._frames.append((channel, frame))
        self._idle.clear()
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def start(self) -> None:
        """Start the flusher on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox")

    async def flush(self, grace: float) -> bool:
        """Wait (at most `grace` seconds) until everything queued is published."""
        if self._task is None:
            return not self._frames
        try:
            async with asyncio.timeout(grace):
                await self._idle.wait()
        except TimeoutError:
            log.warning("gave up publishing %d queued frames", len(self._frames))
            return False
        return True

    async def close(self) -> None:
        """Stop the flusher (what is still queued is not published)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        backoff = Backoff("publishing")
        client: aioredis.Redis | None = None
        try:
            while True:
                if not self._frames:
                    self._idle.set()
                    self._wakeup = asyncio.get_running_loop().create_future()
                    await self._wakeup
                    self._wakeup = None
                    continue
                if client is None:
                    client = self._links.client()
                batch = list(self._frames)
                self._frames.clear()
                try:
                    await self._publish(client, batch)
                except Exception as exc:  # Redis's errors and any other: never end the task
                    if not isinstance(exc, RedisError | OSError):
                        log.error("publishing failed", extra=describe_error(exc))
                    self._requeue(batch)
                    await client.aclose()
                    client = None
                    await asyncio.sleep(backoff.failed(exc))
                    continue
                backoff.succeeded()
        finally:
            if client is not None:
                await client.aclose()

    async def _publish(self, client: aioredis.Redis, batch: list[tuple[bytes, bytes]]) -> None:
        command = "SPUBLISH" if await self._links.use_sharded(client) else "PUBLISH"
        async with client.pipeline(transaction=False) as pipe:
            for channel, frame in batch:
                pipe.execute_command(command, channel, frame)
            await pipe.execute()
        PUBSUB_PUBLISHED.inc(len(batch))
        PUBSUB_BATCH_SIZE.observe(len(batch))

    def _requeue(self, batch: list[tuple[bytes, bytes]]) -> None:
        """Put a batch that failed back in front, keeping the newest frames within the bound.

        Redis may have published part of it before failing; those go again (a receiver may get
        a message twice, which clients ignore by id) rather than be lost.
        """
        room = self._max - len(self._frames)
        kept = batch[-room:] if room > 0 else []
        for _ in range(len(batch) - len(kept)):
            self._dropped()
        self._frames.extendleft(reversed(kept))

    def _dropped(self) -> None:
        PUBSUB_DROPPED.inc()
        now = time.monotonic()
        if now - self._dropped_logged_at >= LOG_EVERY_SECONDS:
            self._dropped_logged_at = now
            log.warning("pub/sub outbox full (%d frames): dropping the oldest", self._max)
