"""A cap on what each socket has queued for its client, in bytes (slow consumers go).

Every packet for a client waits in its engine.io socket's queue until the socket's writer
sends it (websocket) or the client polls for it (long-polling); room broadcasts put their
pre-encoded packet straight onto that queue. A client that stops reading would make the queue
grow without end, so the queue itself counts the bytes it holds: past the cap it drops them,
refuses more, and the socket is hung up, as Centrifugo does with slow consumers. A websocket
client that reads slowly fills the kernel's and uvicorn's buffers first (uvicorn then stops
taking frames), so only what is still queued beyond those counts.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from pipechat.realtime.broadcast import EncodedPacket
from pipechat.realtime.hangup import hang_up
from pipechat.realtime.leanqueue import LeanQueue
from pipechat.realtime.transportlog import log_refused

T = TypeVar("T")


def packet_bytes(pkt: Any) -> int:
    """The size of an engine.io packet on the wire, in bytes (before framing)."""
    size = getattr(pkt, "wire_size", None)  # a broadcast's packet knows its own
    if size is not None:
        return int(size)
    if pkt.binary:
        return len(pkt.data)
    text = pkt.encode()  # cached by the packet: its writer gets the same string
    return len(text) if text.isascii() else len(text.encode())


class SendBuffer(LeanQueue[T]):
    """A socket's outgoing packet queue that counts its bytes and empties past its cap."""

    __slots__ = ("_cap", "_on_overflow", "_owner", "queued_bytes", "refusing")

    def __init__(self) -> None:
        super().__init__()
        self.queued_bytes = 0
        self.refusing = False
        self._cap = sys.maxsize
        self._on_overflow: Callable[[str], None] | None = None
        self._owner = ""

    def watch(self, cap: int, on_overflow: Callable[[str], None], owner: str) -> None:
        """Call `on_overflow(owner)` once, when more than `cap` bytes would be queued.

        A callback shared by all queues and the owner's name, not a closure over its socket:
        that would cost a function object per socket and tie socket and queue in a cycle.
        """
        self._cap = cap
        self._on_overflow = on_overflow
        self._owner = owner

    # Once per delivery: a broadcast's packet is read directly, the base class called by name.
    def put_nowait(self, item: T) -> None:
        """Queue a packet; `None` (the writer's wake-up) always goes through."""
        if item is not None:
            if self.refusing:
                return
            pkt: Any = item
            self.queued_bytes += (pkt.wire_size if type(pkt) is EncodedPacket
                                  else packet_bytes(pkt))
            if self.queued_bytes > self._cap:
                self._overflow()
                return
        LeanQueue.put_nowait(self, item)

    def get_nowait(self) -> T:
        """The oldest item, no longer counted."""
        item: Any = LeanQueue.get_nowait(self)
        if item is not None:
            self.queued_bytes -= (item.wire_size if type(item) is EncodedPacket
                                  else packet_bytes(item))
        return item  # type: ignore[no-any-return]

    def _overflow(self) -> None:
        self.clear()
        self.queued_bytes = 0
        self.refusing = True
        if self._on_overflow is not None:
            self._on_overflow(self._owner)


class SlowConsumers:
    """Caps the send buffer of each socket of an engine.io server and hangs up who passes it."""

    def __init__(self, eio: Any, cap: int) -> None:
        self._eio = eio
        self.cap = cap
        self._hanging_up: set[asyncio.Task[None]] = set()

    def meter(self, socket: Any) -> bool:
        """Watch `socket`'s queue; False if it is not a `SendBuffer` (engine.io's own queue,
        when the lean queue does not apply)."""
        queue = socket.queue
        if not isinstance(queue, SendBuffer):
            return False
        queue.watch(self.cap, self._overflowed, socket.sid)
        return True

    def _overflowed(self, eio_sid: str) -> None:
        socket = self._eio.sockets.get(eio_sid)
        if socket is None:
            return
        log_refused("slow consumer", eio_sid, cap=self.cap)
        # Called from inside a put (a broadcast's loop, say): disconnecting is for later.
        task = asyncio.get_running_loop().create_task(
            hang_up(socket, notify=False, reason=self._eio.reason.TRANSPORT_ERROR))
        self._hanging_up.add(task)
        task.add_done_callback(self._hanging_up.discard)
