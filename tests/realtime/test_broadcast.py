"""The fast room broadcast and the quick engine.io writer, with real servers and clients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import engineio
import pytest
import socketio
from engineio import async_socket, exceptions
from engineio import packet as eio_packet

from pipechat.app import create_app
from pipechat.realtime import engineio_writer
from pipechat.realtime.broadcast import BroadcastManager
from pipechat.realtime.lifetimes import LifetimeManager, LifetimeRoomcastManager
from pipechat.realtime.roomcast.manager import RoomcastManager
from pipechat.realtime.sendbuffer import SendBuffer
from pipechat.realtime.upstream import source_sha256
from support import REDIS_URL, make_settings, need_service, serve_asgi

NS = "/chats"
WAIT = 20.0  # a ceiling for a hung server, never a measured duration


class QuickServer(socketio.AsyncServer):  # type: ignore[misc]
    """A bare server whose sockets adopt the quick writer, like pipechat's gateway."""

    adopted: list[bool]

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        self.adopted.append(engineio_writer.adopt(self.eio.sockets.get(eio_sid)))
        return await super()._handle_eio_connect(eio_sid, environ)


def build_server(manager: socketio.AsyncManager) -> QuickServer:
    """A server with a room-joining handler and a room-emitting handler."""
    server = QuickServer(async_mode="asgi", client_manager=manager, ping_interval=1, ping_timeout=2)
    server.adopted = []

    @server.on("join", namespace=NS)
    async def join(sid: str, room: str) -> str:
        await server.enter_room(sid, room, namespace=NS)
        return "joined"

    @server.on("shout", namespace=NS)
    async def shout(sid: str, data: dict[str, Any]) -> str:
        await server.emit("heard", data["payload"], to=data["room"], skip_sid=sid, namespace=NS)
        return "shouted"

    return server


@asynccontextmanager
async def serving(server: socketio.AsyncServer) -> AsyncIterator[str]:
    """Serve a bare Socket.IO server on a free loopback port; yields the base URL."""
    async with serve_asgi(socketio.ASGIApp(server)) as url:
        yield url


class Listener:
    """A real client that records `heard` events."""

    def __init__(self, transport: str = "websocket") -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.transport = transport
        self.heard: asyncio.Queue[Any] = asyncio.Queue()
        self.client.on("heard", self.heard.put_nowait, namespace=NS)

    async def join(self, url: str, room: str) -> Listener:
        await self.client.connect(url, namespaces=[NS], transports=[self.transport],
                                  wait_timeout=WAIT)
        assert await self.client.call("join", room, namespace=NS, timeout=WAIT) == "joined"
        return self

    async def shout(self, room: str, payload: Any) -> None:
        answer = await self.client.call("shout", {"room": room, "payload": payload},
                                        namespace=NS, timeout=WAIT)
        assert answer == "shouted"

    async def next(self) -> Any:
        return await asyncio.wait_for(self.heard.get(), WAIT)


async def test_room_broadcast_reaches_each_member_once_but_not_the_sender() -> None:
    server = build_server(BroadcastManager())
    async with serving(server) as url:
        sender, *members = [await Listener(t).join(url, "r1")
                            for t in ("websocket", "websocket", "polling")]
        outsider = await Listener().join(url, "r2")
        for n in range(20):
            await sender.shout("r1", {"n": n, "text": "héllo"})
        for member in members:
            assert [await member.next() for _ in range(20)] == [
                {"n": n, "text": "héllo"} for n in range(20)]
        # The sender's and the outsider's own round trips prove nothing else was queued.
        await outsider.shout("r2", "ping")
        await sender.shout("r1", "last")
        assert [await m.next() for m in members] == ["last", "last"]
        assert sender.heard.empty() and outsider.heard.empty()
        assert all(m.heard.empty() for m in members)
        assert server.adopted == [engineio_writer.PATCH_APPLIES] * 4
        for listener in (sender, *members, outsider):
            await listener.client.disconnect()


async def test_binary_payloads_and_whole_namespace_emits_keep_working() -> None:
    server = build_server(BroadcastManager())
    async with serving(server) as url:
        sender, member = [await Listener().join(url, "r") for _ in range(2)]
        await sender.shout("r", {"blob": b"\x00\x01binary"})
        assert await member.next() == {"blob": b"\x00\x01binary"}
        await server.emit("heard", "everyone", namespace=NS)
        assert [await sender.next(), await member.next()] == ["everyone", "everyone"]
        for listener in (sender, member):
            await listener.client.disconnect()


async def test_broadcast_across_processes_through_redis() -> None:
    url = need_service("redis", REDIS_URL)
    # Messages arriving through Redis are delivered locally by BroadcastManager's queue puts.
    mro = RoomcastManager.__mro__
    assert mro.index(BroadcastManager) < mro.index(socketio.AsyncManager)
    channel = f"pipechat-test-{uuid.uuid4().hex}"
    one = build_server(RoomcastManager(url, channel=channel))
    two = build_server(RoomcastManager(url, channel=channel))
    async with serving(one) as url_one, serving(two) as url_two:
        here = await Listener().join(url_one, "r")
        there = await Listener().join(url_two, "r")
        for attempt in range(50):
            # Subscription is asynchronous: repeat until the other process hears one.
            await here.shout("r", attempt)
            try:
                first = await asyncio.wait_for(there.heard.get(), 0.2)
                break
            except TimeoutError:
                continue
        else:
            pytest.fail("the other process never received a broadcast through Redis")
        await here.shout("r", "after")
        seen = [first]
        while seen[-1] != "after":
            seen.append(await there.next())
        numbers = seen[:-1]
        assert numbers == sorted(set(numbers))  # in order, none twice
        assert here.heard.empty()
        for listener in (here, there):
            await listener.client.disconnect()


async def poll_story(socket: async_socket.AsyncSocket) -> list[Any]:
    """What `poll` gives for: nothing queued, then two packets and a close marker."""
    story: list[Any] = []
    try:
        await socket.poll()
    except exceptions.QueueEmpty:
        story.append("timed out")
    for item in (eio_packet.Packet(eio_packet.MESSAGE, "a"),
                 eio_packet.Packet(eio_packet.MESSAGE, "b"), None):
        socket.queue.put_nowait(item)
    story.append([pkt.data for pkt in await socket.poll()])
    story.append(await socket.poll())
    return story


@pytest.mark.parametrize("server_class", [engineio.AsyncServer, engineio_writer.LeanQueueServer])
async def test_quick_poll_behaves_like_the_stock_poll(server_class: type) -> None:
    # Both over asyncio.Queue (stock server) and over SendBuffer (pipechat's engine.io server).
    eio = server_class(async_mode="asgi", ping_interval=0.05, ping_timeout=0.05)
    quick = async_socket.AsyncSocket(eio, "quick")
    if not engineio_writer.adopt(quick):
        pytest.skip("python-engineio's poll changed: the patch is off, stock code runs")
    assert isinstance(quick, engineio_writer.QuickPollSocket)
    stock_eio = engineio.AsyncServer(async_mode="asgi", ping_interval=0.05, ping_timeout=0.05)
    stock = await poll_story(async_socket.AsyncSocket(stock_eio, "stock"))
    assert stock == ["timed out", ["a", "b"], []]
    assert await poll_story(quick) == stock


def test_patch_is_tied_to_the_known_engineio_source() -> None:
    # Upgrading python-engineio to a different poll turns the patch off rather than guessing.
    fingerprint = source_sha256(async_socket.AsyncSocket.poll)
    matches = fingerprint == engineio_writer.KNOWN_POLL_SOURCE
    assert engineio_writer.PATCH_APPLIES is matches
    socket = async_socket.AsyncSocket(engineio.AsyncServer(async_mode="asgi"), "sid")
    original = engineio_writer.PATCH_APPLIES
    try:
        engineio_writer.PATCH_APPLIES = False
        # Only the answered over-size POST is left (its own fingerprint matched).
        assert engineio_writer.adopt(socket) is engineio_writer.POST_FIX_APPLIES
        assert not isinstance(socket, engineio_writer.QuickPollSocket)
    finally:
        engineio_writer.PATCH_APPLIES = original


def test_nothing_is_adopted_when_no_fingerprint_matches() -> None:
    socket = async_socket.AsyncSocket(engineio.AsyncServer(async_mode="asgi"), "sid")
    originals = engineio_writer.PATCH_APPLIES, engineio_writer.POST_FIX_APPLIES
    try:
        engineio_writer.PATCH_APPLIES = engineio_writer.POST_FIX_APPLIES = False
        assert engineio_writer.adopt(socket) is False
        assert type(socket) is async_socket.AsyncSocket
    finally:
        engineio_writer.PATCH_APPLIES, engineio_writer.POST_FIX_APPLIES = originals


def test_lean_queue_is_tied_to_the_known_engineio_socket() -> None:
    matches = (source_sha256(async_socket.AsyncSocket)
               == engineio_writer.KNOWN_SOCKET_SOURCE)
    assert engineio_writer.LEAN_QUEUE_APPLIES is matches
    eio = engineio_writer.LeanQueueServer(async_mode="asgi")
    expected = SendBuffer if matches else asyncio.Queue
    assert type(async_socket.AsyncSocket(eio, "sid").queue) is expected
    original = engineio_writer.LEAN_QUEUE_APPLIES
    try:
        engineio_writer.LEAN_QUEUE_APPLIES = False
        assert type(async_socket.AsyncSocket(eio, "sid").queue) is asyncio.Queue
    finally:
        engineio_writer.LEAN_QUEUE_APPLIES = original
    # Queues asked for with arguments (a bound, say) are never lean.
    assert type(eio.create_queue(5)) is asyncio.Queue


@pytest.mark.parametrize("redis_url", [None, "redis://127.0.0.1:1/0"])
def test_the_gateway_uses_the_broadcast_managers(redis_url: str | None,
                                                  tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path,
                             redis_url=redis_url, redis_channel=f"t-{uuid.uuid4().hex}")
    manager = create_app(settings).engineio_server.manager
    expected = LifetimeRoomcastManager if redis_url else LifetimeManager
    assert type(manager) is expected
    # The lifetime managers only add ending sessions; fan-out (and pub/sub) stay underneath.
    assert isinstance(manager, RoomcastManager if redis_url else BroadcastManager)


async def test_heartbeat_pings_come_from_the_wheel_not_a_task_per_socket() -> None:
    if not engineio_writer.LEAN_QUEUE_APPLIES or not engineio_writer.PATCH_APPLIES:
        pytest.skip("python-engineio's socket changed: the stock heartbeat runs")
    class WheelServer(QuickServer):
        def _engineio_server_class(self) -> type:
            return engineio_writer.LeanQueueServer

    server = WheelServer(async_mode="asgi", ping_interval=1, ping_timeout=2)
    server.adopted = []

    @server.on("join", namespace=NS)
    async def join(sid: str, room: str) -> str:
        return "joined"

    async with serving(server) as url:
        listeners = [await Listener().join(url, "r") for _ in range(3)]
        try:
            wheel = server.eio.ping_wheel
            assert wheel.pending() == 3
            assert not [t for t in asyncio.all_tasks() if "_send_ping" in repr(t.get_coro())]
            # Pinged, and answered (the next PING is due again: PONG reschedules it).
            deadline = asyncio.get_running_loop().time() + WAIT
            while wheel.sent < 3 or wheel.pending() < 3:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
            # Still connected and served after the heartbeat.
            for listener in listeners:
                assert await listener.client.call("join", "r", namespace=NS,
                                                  timeout=WAIT) == "joined"
        finally:
            for listener in listeners:
                await listener.client.disconnect()
