"""LeanQueue and LeanEvent behave like asyncio.Queue and asyncio.Event (same scenarios on both)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pipechat.realtime.leanqueue import LeanEvent, LeanQueue

QUEUES = [asyncio.Queue, LeanQueue]
EVENTS = [asyncio.Event, LeanEvent]


async def settle() -> None:
    """Let every ready callback and task step run."""
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.parametrize("make", QUEUES)
async def test_fifo_nowait_and_empty(make: Any) -> None:
    queue = make()
    assert queue.empty() and queue.qsize() == 0
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    for item in ("a", "b", None):
        await queue.put(item)
    assert queue.qsize() == 3 and not queue.empty()
    assert [queue.get_nowait() for _ in range(3)] == ["a", "b", None]
    assert queue.empty()


@pytest.mark.parametrize("make", QUEUES)
async def test_waiting_getters_are_served_in_order(make: Any) -> None:
    queue = make()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await settle()
    assert not first.done() and not second.done()
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert await first == 1 and await second == 2


@pytest.mark.parametrize("make", QUEUES)
async def test_cancelled_getter_loses_nothing(make: Any) -> None:
    queue = make()
    cancelled = asyncio.ensure_future(queue.get())
    await settle()
    cancelled.cancel()
    await settle()
    queue.put_nowait("x")
    assert await asyncio.wait_for(queue.get(), 1) == "x"


@pytest.mark.parametrize("make", QUEUES)
async def test_woken_then_cancelled_getter_passes_the_item_on(make: Any) -> None:
    queue = make()
    woken = asyncio.ensure_future(queue.get())
    other = asyncio.ensure_future(queue.get())
    await settle()
    queue.put_nowait("x")  # wakes `woken`, which is cancelled before it runs
    woken.cancel()
    assert await asyncio.wait_for(other, 1) == "x"
    assert woken.cancelled()


@pytest.mark.parametrize("make", QUEUES)
async def test_get_under_a_timeout(make: Any) -> None:
    queue = make()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await queue.get()
    queue.put_nowait("later")
    assert await queue.get() == "later"


@pytest.mark.parametrize("make", QUEUES)
async def test_task_done_and_join(make: Any) -> None:
    queue = make()
    await asyncio.wait_for(queue.join(), 1)  # nothing unfinished: returns at once
    queue.put_nowait("a")
    queue.put_nowait("b")
    joiners = [asyncio.ensure_future(queue.join()) for _ in range(2)]
    await settle()
    queue.get_nowait()
    queue.task_done()
    await settle()
    assert not any(joiner.done() for joiner in joiners)
    joiners[0].cancel()  # one joiner giving up does not release the other
    await settle()
    assert not joiners[1].done()
    queue.get_nowait()
    queue.task_done()
    await asyncio.wait_for(joiners[1], 1)
    with pytest.raises(ValueError):
        queue.task_done()


async def test_an_idle_lean_queue_holds_no_containers() -> None:
    queue: LeanQueue[str] = LeanQueue()
    waiter = asyncio.ensure_future(queue.get())
    await settle()
    queue.put_nowait("a")
    assert await waiter == "a"
    assert (queue._items, queue._getters, queue._finished) == (None, None, None)


@pytest.mark.parametrize("make", EVENTS)
async def test_event_set_clear_wait(make: Any) -> None:
    event = make()
    assert not event.is_set()
    waiters = [asyncio.ensure_future(event.wait()) for _ in range(2)]
    cancelled = asyncio.ensure_future(event.wait())
    await settle()
    cancelled.cancel()
    await settle()
    assert not any(waiter.done() for waiter in waiters)
    event.set()
    event.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True]
    assert event.is_set() and await event.wait() is True
    event.clear()
    assert not event.is_set()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await event.wait()


async def test_an_idle_lean_event_holds_no_waiter_list() -> None:
    event = LeanEvent()
    waiter = asyncio.ensure_future(event.wait())
    await settle()
    event.set()
    await waiter
    assert event._waiters is None
