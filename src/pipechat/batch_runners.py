"""Where write batches run: one transaction per call, synchronous Core code inside.

- SQLite: a plain pysqlite connection in one dedicated thread, so a batch costs the serving
  loop one hop instead of one aiosqlite hop per statement; on a busy loop each hop waited for
  a turn, and those waits made most of a commit's latency (docs/performance.md).
- PostgreSQL: asyncpg on the serving loop. An event loop of its own in a thread was measured
  and was slower (each round trip then has to win the GIL back from the serving loop).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

P = ParamSpec("P")
T = TypeVar("T")

Work = Callable[Concatenate[Connection, P], T]


class BatchRunner(Protocol):
    """Runs synchronous Core code in one write transaction: commit on return, else roll back."""

    async def run(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`work(connection, *args, **kwargs)` inside a transaction."""
        ...

    async def close(self) -> None:
        """Close the connections and stop the thread."""
        ...


class ThreadBatchRunner:
    """A synchronous engine used from one dedicated thread (SQLite)."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`work` in a transaction, in the thread."""
        job = partial(self._in_transaction, work, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._thread, job)

    def _in_transaction(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self._engine.begin() as connection:
            return work(connection, *args, **kwargs)

    async def close(self) -> None:
        """Close the pooled connection in the thread that owns it."""
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)


class EngineBatchRunner:
    """An async engine on the serving loop, through its greenlet bridge (PostgreSQL).

    Instead of SQLAlchemy's ping at every checkout (a round trip per batch), the connection is
    pinged only after it sat idle, which is when a database restart can have killed it; a
    dead one is then replaced before the batch, so the batch itself does not fail.
    """

    def __init__(self, engine: AsyncEngine, ping_after_idle: float = 1.0) -> None:
        self._engine = engine
        self._ping_after_idle = ping_after_idle
        self._last_used = float("-inf")

    async def run(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`work` in a transaction on the pooled connection."""
        if time.monotonic() - self._last_used > self._ping_after_idle:
            await self._ping()
        async with self._engine.begin() as connection:
            result = await connection.run_sync(work, *args, **kwargs)
        self._last_used = time.monotonic()
        return result

    async def _ping(self) -> None:
        for attempt in range(2):
            try:
                async with self._engine.connect() as connection:
                    await connection.exec_driver_sql("SELECT 1")
                return
            except DBAPIError as exc:
                # A dead connection is invalidated by the failed ping; one retry opens a new one.
                if not exc.connection_invalidated or attempt == 1:
                    raise

    async def close(self) -> None:
        """Close the runner's connection."""
        await self._engine.dispose()
