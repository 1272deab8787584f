"""engine.io's heartbeat PINGs from one timer per second, not a task per socket.

Stock engine.io starts a task per socket that sleeps `ping_interval` and queues a PING, then
again after each PONG: a task, its coroutine and a timer for every idle socket (about 1 KiB).
`PingWheel` keeps the sockets whose next PING is due in the same second in one list behind one
`loop.call_at`; when it fires, one task queues their PINGs exactly as the stock `_send_ping`
does after its sleep. A PING leaves up to a second later than `ping_interval` (25 s): clients
wait `pingInterval + pingTimeout` (45 s) before they give up.

Used by `engineio_writer.QuickPollSocket.schedule_ping`, only with the exact `AsyncSocket` class
it was written against (whole-class fingerprint).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from engineio import packet

log = logging.getLogger("pipechat.realtime")


class PingWheel:
    """Sockets by the whole second (event loop time) their next PING is due."""

    def __init__(self) -> None:
        self._due: dict[int, list[Any]] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self.sent = 0  # PINGs queued so far

    def schedule(self, socket: Any, delay: float) -> None:
        """Queue a PING for `socket` `delay` seconds from now (rounded up to the second)."""
        loop = asyncio.get_running_loop()
        second = math.ceil(loop.time() + delay)
        due = self._due.get(second)
        if due is None:
            due = self._due[second] = []
            loop.call_at(second, self._fire, second)
        due.append(socket)

    def pending(self) -> int:
        """How many sockets wait for their PING."""
        return sum(len(due) for due in self._due.values())

    def _fire(self, second: int) -> None:
        sockets = self._due.pop(second, None)
        if sockets:
            task = asyncio.get_running_loop().create_task(self._ping(sockets))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _ping(self, sockets: list[Any]) -> None:
        for socket in sockets:
            if socket.closing or socket.closed:
                continue
            # The stock `_send_ping`, after its sleep.
            socket.last_ping = time.time()
            try:
                await socket.send(packet.Packet(packet.PING))
                self.sent += 1
            except Exception as exc:  # one socket's failure must not skip the others
                log.warning("could not queue a PING: %s", type(exc).__name__)
