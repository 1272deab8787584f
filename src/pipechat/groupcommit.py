"""Group commit: items queued by callers, written in batches by one background task.

Messages and read marks are both frequent and tiny, so each goes into a queue and one task
writes everything queued (up to `max_batch`) in one transaction: what arrives while a batch
is being written goes into the next one.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

from pipechat.errors import ChatError, ErrorCode

T = TypeVar("T")


class GroupCommitter(Generic[T]):
    """Queues items and hands them to `_commit` in batches; subclasses write and answer them."""

    def __init__(self, name: str, max_batch: int) -> None:
        self._name = name
        self._max_batch = max_batch
        self._queue: asyncio.Queue[T] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        """Start the background committer on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Refuse new items, commit everything already accepted, then stop."""
        self._closing = True
        await self._queue.join()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _enqueue(self, item: T) -> None:
        if self._closing:
            raise ChatError(ErrorCode.SERVICE_UNAVAILABLE, "the server is shutting down")
        self._queue.put_nowait(item)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[T]) -> None:
        raise NotImplementedError
