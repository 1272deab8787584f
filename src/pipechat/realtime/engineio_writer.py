"""Cheaper per-socket engine.io: a quick writer wait and a lean queue (small, checked patches).

Each websocket's writer task waits for outgoing packets with `AsyncSocket.poll`, which uses
`asyncio.wait_for`: on Python 3.11 that starts a task and a timer for every wake-up, i.e. for
every message a chat member receives. `QuickPollSocket.poll` takes a queued packet without
waiting when there is one and otherwise waits under `asyncio.timeout`; the rest is unchanged.

The patch applies only to the exact `AsyncSocket.poll` it was written against (its source is
fingerprinted), so a python-engineio upgrade that changes it falls back to the stock code.

`LeanQueueServer` gives each socket a `LeanQueue` (a `SendBuffer`, which also caps the bytes
queued) instead of an `asyncio.Queue` (about 2.5 KiB less per idle socket), and one `PingWheel`
for the heartbeats of all its sockets instead of a task each; both apply only to the exact
`AsyncSocket` class (every use of its queue, `schedule_ping`, `_send_ping`) they were written
against.

`AnsweringSocket.handle_post_request` answers an over-size long-polling POST: engine.io's own
ends the session with `disconnect`, which waits for the client to read the CLOSE packet; a
client that only POSTs never does, so the request hung forever (and held up shutdown). A body
that is no engine.io payload ends the session with a 400 too (engine.io answered it 200 and
logged a traceback). It replaces the method whose source is fingerprinted, else falls back.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, NoReturn

import engineio
from engineio import async_socket, exceptions, payload

from pipechat.realtime.pingwheel import PingWheel
from pipechat.realtime.sendbuffer import SendBuffer
from pipechat.realtime.upstream import source_sha256

log = logging.getLogger("pipechat.realtime")

# sha256 of `inspect.getsource(AsyncSocket.poll)` as in python-engineio 4.15.1.
KNOWN_POLL_SOURCE = "826f58a9f3606db208e5d1266f075ad655b6eeda47b0a5616748624899ca5954"
# sha256 of `inspect.getsource(AsyncSocket)` as in python-engineio 4.15.1.
KNOWN_SOCKET_SOURCE = "af72dafc541d46e65340541ba34fd9ddee8380e84a97ecd20e88688c62804c71"
# sha256 of `inspect.getsource(AsyncSocket.handle_post_request)` as in python-engineio 4.15.1.
KNOWN_POST_SOURCE = "82dca119a261a95904b8714cc255ab79aaaef0acd4a0ef98d8ef7a116c370ef2"



class AnsweringSocket(async_socket.AsyncSocket):  # type: ignore[misc]
    """An engine.io socket whose over-size or undecodable long-polling POST gets a 400."""

    async def handle_post_request(self, environ: dict[str, Any]) -> None:
        """engine.io's, but a body it cannot take ends the session without waiting for a reader."""
        if not POST_FIX_APPLIES:
            await super().handle_post_request(environ)
            return
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self.server.max_http_buffer_size:
            await self._end_session(exceptions.ContentTooLongError())
        body: bytes = await environ["wsgi.input"].read(length)
        try:
            packets = payload.Payload(encoded_payload=body.decode("utf-8")).packets
        except (ValueError, KeyError, IndexError):
            # engine.io would log a traceback and answer 200; the socket.io reference server
            # ends the session at a parse error, as a websocket frame that is no packet does.
            await self._end_session(exceptions.EngineIOError())
        for pkt in packets:
            await self.receive(pkt)

    async def _end_session(self, error: Exception) -> NoReturn:
        # Closed without waiting, the server's own `disconnect` that follows returns at once
        # and the request is answered 400.
        await self.close(wait=False, reason=self.server.reason.TRANSPORT_ERROR)
        raise error


class QuickPollSocket(AnsweringSocket):
    """An engine.io socket whose writer wakes without a task or timer per packet, and whose
    heartbeat PINGs come from the server's `PingWheel` instead of a task of its own."""

    last_ping: float | None  # engine.io's: when the last PING left, None while one is due

    def schedule_ping(self) -> None:
        """The stock `schedule_ping`, on the wheel when the server has one."""
        wheel = getattr(self.server, "ping_wheel", None)
        if wheel is None or not LEAN_QUEUE_APPLIES:
            super().schedule_ping()
        elif self.last_ping:
            self.last_ping = None
            wheel.schedule(self, self.server.ping_interval)

    async def poll(self) -> list[Any]:
        """Wait for packets to send to the client (same contract as the stock `poll`)."""
        queue: asyncio.Queue[Any] = self.queue
        try:
            first = queue.get_nowait()
        except asyncio.QueueEmpty:
            try:
                async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                    first = await queue.get()
            except (TimeoutError, asyncio.CancelledError):
                raise exceptions.QueueEmpty() from None
        queue.task_done()
        if first is None:
            return []
        packets = [first]
        while True:
            try:
                pkt = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            queue.task_done()
            if pkt is None:
                queue.put_nowait(None)
                break
            packets.append(pkt)
        return packets


PATCH_APPLIES = source_sha256(async_socket.AsyncSocket.poll) == KNOWN_POLL_SOURCE
if not PATCH_APPLIES:
    log.warning("engine.io AsyncSocket.poll is not the known version; keeping the stock writer")
POST_FIX_APPLIES = (source_sha256(async_socket.AsyncSocket.handle_post_request)
                    == KNOWN_POST_SOURCE)
if not POST_FIX_APPLIES:
    log.warning("engine.io AsyncSocket.handle_post_request is not the known version; "
                "an over-size or undecodable long-polling POST may go unanswered")
LEAN_QUEUE_APPLIES = source_sha256(async_socket.AsyncSocket) == KNOWN_SOCKET_SOURCE
if not LEAN_QUEUE_APPLIES:
    log.warning("engine.io AsyncSocket is not the known version; keeping asyncio.Queue")


class LeanQueueServer(engineio.AsyncServer):  # type: ignore[misc]
    """The engine.io server, with a `LeanQueue` per socket when the patch applies, and one
    `PingWheel` for its sockets' heartbeats."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ping_wheel = PingWheel()

    def create_queue(self, *args: Any, **kwargs: Any) -> Any:
        """A socket's outgoing packet queue (sockets call this without arguments)."""
        if LEAN_QUEUE_APPLIES and not args and not kwargs:
            return SendBuffer()
        return super().create_queue(*args, **kwargs)


def adopt(socket: Any) -> bool:
    """Give a freshly created stock engine.io socket the quick `poll` and the answered
    over-size POST, each where its fingerprint matches; True when it changed the socket."""
    if type(socket) is not async_socket.AsyncSocket:
        return False
    if PATCH_APPLIES:
        socket.__class__ = QuickPollSocket
    elif POST_FIX_APPLIES:
        socket.__class__ = AnsweringSocket
    else:
        return False
    return True
