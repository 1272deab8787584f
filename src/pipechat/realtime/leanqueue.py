"""`asyncio.Queue` and `asyncio.Event` for one-per-socket use, allocating only while in use.

An `asyncio.Queue` builds three deques and an `Event` (a fourth deque) up front, and each
deque holds a 64-slot block: about 3 KiB for a queue that is empty nearly all the time. These
keep nothing but a few slots while idle: items and waiters get a container only while there
are any. They are unbounded and implement just what engine.io's sockets and uvicorn's
websocket protocol call: `put`, `put_nowait`, `get`, `get_nowait`, `task_done`, `join`,
`qsize`, `empty`; `set`, `clear`, `is_set`, `wait`. Same semantics as asyncio's, cancellation
included; single event loop, no thread safety (as asyncio's). The queue's `clear` (drop what
is queued) is pipechat's own, for `sendbuffer`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


def _wake_first(waiters: list[asyncio.Future[None]]) -> None:
    """Resolve the first waiter that is still waiting; drop the ones that are done."""
    while waiters:
        waiter = waiters.pop(0)
        if not waiter.done():
            waiter.set_result(None)
            return


class LeanQueue(Generic[T]):
    """An unbounded FIFO queue with `asyncio.Queue`'s interface and behaviour."""

    __slots__ = ("_finished", "_getters", "_items", "_unfinished")

    def __init__(self) -> None:
        self._items: deque[T] | None = None
        self._getters: list[asyncio.Future[None]] | None = None
        self._unfinished = 0
        self._finished: asyncio.Future[None] | None = None

    def qsize(self) -> int:
        """Number of items queued."""
        return len(self._items) if self._items is not None else 0

    def empty(self) -> bool:
        """True when nothing is queued."""
        return self._items is None

    def put_nowait(self, item: T) -> None:
        """Queue `item` and wake one waiting `get`."""
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._unfinished += 1
        if self._getters:
            _wake_first(self._getters)

    async def put(self, item: T) -> None:
        """Queue `item` (never waits: the queue is unbounded)."""
        self.put_nowait(item)

    def get_nowait(self) -> T:
        """The oldest item; `asyncio.QueueEmpty` when there is none."""
        items = self._items
        if items is None:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None  # an idle queue keeps no deque block
        return item

    async def get(self) -> T:
        """The oldest item, waiting for one if needed."""
        while self._items is None:
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if self._getters and getter in self._getters:
                    self._getters.remove(getter)
                # Woken and then cancelled: pass the wake-up on, as asyncio.Queue does.
                if self._items is not None and not getter.cancelled() and self._getters:
                    _wake_first(self._getters)
                raise
            finally:
                if not self._getters:
                    self._getters = None
        return self.get_nowait()

    def clear(self) -> None:
        """Drop every queued item (each counts as done for `join`)."""
        dropped = self.qsize()
        self._items = None
        for _ in range(dropped):
            self.task_done()

    def task_done(self) -> None:
        """Mark one item as processed; `join` returns when all are."""
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._finished is not None:
            if not self._finished.done():
                self._finished.set_result(None)
            self._finished = None

    async def join(self) -> None:
        """Wait until every queued item has been marked done."""
        if self._unfinished > 0:
            if self._finished is None:
                self._finished = asyncio.get_running_loop().create_future()
            # Shielded: one cancelled joiner must not cancel the others' wait.
            await asyncio.shield(self._finished)


class LeanEvent:
    """`asyncio.Event` without a waiter deque while nobody waits."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._set

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        """Reset the flag."""
        self._set = False

    async def wait(self) -> bool:
        """Return at once when set, else wait until `set`."""
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
            return True
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
                if not self._waiters:
                    self._waiters = None
