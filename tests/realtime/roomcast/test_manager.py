"""RoomcastManager between two servers that share only Redis: python-socketio's whole API.

Each server has its own manager, Redis connections and port (as two processes would), so
everything between them goes through Redis: room emits, `to=sid` emits, enter_room /
leave_room / disconnect / close_room of a socket on the other server, and acks.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
import socketio

from pipechat.realtime.roomcast.links import Sharding
from pipechat.realtime.roomcast.manager import RoomcastManager
from support import REDIS_URL, need_service, serve_asgi

pytestmark = pytest.mark.redis
NS = "/chats"
WAIT = 20.0  # a ceiling for a hung server, never a measured duration


def build_server(manager: RoomcastManager) -> socketio.AsyncServer:
    """A bare server whose handlers call python-socketio's API for the test's clients."""
    server = socketio.AsyncServer(async_mode="asgi", client_manager=manager)

    @server.on("join", namespace=NS)
    async def join(sid: str, room: str) -> list[str]:
        await server.enter_room(sid, room, namespace=NS)
        return list(server.rooms(sid, namespace=NS))

    @server.on("rooms", namespace=NS)
    async def rooms(sid: str, _data: Any = None) -> list[str]:
        return list(server.rooms(sid, namespace=NS))

    @server.on("shout", namespace=NS)
    async def shout(sid: str, data: dict[str, Any]) -> str:
        await server.emit("heard", data["payload"], to=data["to"], skip_sid=sid, namespace=NS)
        return "shouted"

    @server.on("place", namespace=NS)
    async def place(_sid: str, data: dict[str, Any]) -> str:
        if data["leave"]:
            await server.leave_room(data["sid"], data["room"], namespace=NS)
        else:
            await server.enter_room(data["sid"], data["room"], namespace=NS)
        return "placed"

    @server.on("kick", namespace=NS)
    async def kick(_sid: str, other: str) -> str:
        await server.disconnect(other, namespace=NS)
        return "kicked"

    @server.on("close", namespace=NS)
    async def close(_sid: str, room: str) -> str:
        await server.close_room(room, namespace=NS)
        return "closed"

    @server.on("ask", namespace=NS)
    async def ask(_sid: str, data: dict[str, Any]) -> Any:
        return await server.call("question", data["question"], to=data["sid"], namespace=NS,
                                 timeout=WAIT)

    return server


class Client:
    """A real Socket.IO client recording `heard` events and answering `question`."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.heard: asyncio.Queue[Any] = asyncio.Queue()
        self.gone = asyncio.Event()
        self.sio.on("heard", self.heard.put_nowait, namespace=NS)
        self.sio.on("question", lambda question: f"{question}!", namespace=NS)
        self.sio.on("disconnect", lambda *_: self.gone.set(), namespace=NS)

    async def connect(self, url: str) -> Client:
        await self.sio.connect(url, namespaces=[NS], transports=["websocket"],
                               wait_timeout=WAIT)
        return self

    @property
    def sid(self) -> str:
        sid = self.sio.get_sid(NS)
        assert sid is not None
        return sid

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, namespace=NS, timeout=WAIT)

    async def next(self) -> Any:
        return await asyncio.wait_for(self.heard.get(), WAIT)

    async def ready(self) -> Client:
        """Return once its server's subscriptions so far are confirmed (its sid's included)."""
        await self.call("join", "ready")
        return self

    async def rooms_until(self, present: str | None = None, absent: str | None = None) -> None:
        """Ask this client's server for its rooms until `present` is in and `absent` out."""
        async with asyncio.timeout(WAIT):
            while True:
                rooms = await self.call("rooms")
                if (present is None or present in rooms) and absent not in rooms:
                    return
                await asyncio.sleep(0.01)


@pytest.fixture(params=["on", "off"])
async def servers(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, str]]:
    """The URLs of two servers, each with its own RoomcastManager on a shared prefix."""
    url = need_service("redis", REDIS_URL)
    sharding: Sharding = request.param
    channel = f"pipechat-test-{uuid.uuid4().hex}"
    managers = [RoomcastManager(url, channel, sharding) for _ in range(2)]
    async with AsyncExitStack() as stack:
        urls = [await stack.enter_async_context(serve_asgi(socketio.ASGIApp(build_server(m))))
                for m in managers]
        for manager in managers:
            manager.initialize()
            stack.push_async_callback(manager.close)
        async with asyncio.timeout(WAIT):
            while not all(m.subscriptions.connected for m in managers):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        yield urls[0], urls[1]


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        if client.sio.connected:
            await client.sio.disconnect()


async def test_enter_and_leave_a_room_of_a_socket_on_the_other_server(
        servers: tuple[str, str], clients: list[Client]) -> None:
    one, two = servers
    here, there = await Client().connect(one), await Client().connect(two)
    clients += [here, there]
    await there.call("join", "barrier")
    assert await here.call("place", {"sid": there.sid, "room": "r", "leave": False}) == "placed"
    await there.rooms_until(present="r")
    # Its server subscribed to "r" before this later subscription was confirmed.
    await there.call("join", "barrier-2")
    await here.call("shout", {"to": "r", "payload": "in r"})
    assert await there.next() == "in r"

    assert await here.call("place", {"sid": there.sid, "room": "r", "leave": True}) == "placed"
    await there.rooms_until(absent="r")
    await here.call("shout", {"to": "r", "payload": "nobody hears this"})
    await here.call("shout", {"to": "barrier", "payload": "after"})
    # Published in this order on one connection: had the first reached it, it came first.
    assert await there.next() == "after"


async def test_disconnect_and_close_room_of_sockets_on_the_other_server(
        servers: tuple[str, str], clients: list[Client]) -> None:
    one, two = servers
    here, there, kicked = [await Client().connect(url) for url in (one, two, two)]
    clients += [here, there, kicked]
    await there.call("join", "c")
    await here.call("join", "c")
    assert await here.call("close", "c") == "closed"
    await there.rooms_until(absent="c")
    assert "c" not in await here.call("rooms")

    assert await here.call("kick", kicked.sid) == "kicked"
    await asyncio.wait_for(kicked.gone.wait(), WAIT)
    assert there.sio.connected


async def test_acks_come_back_from_the_other_server(
        servers: tuple[str, str], clients: list[Client]) -> None:
    one, two = servers
    here, there = await Client().connect(one), await Client().connect(two)
    clients += [here, there]
    await here.ready()
    await there.ready()
    # server.call on one, to a socket on two: the ack travels back on one's own channel.
    assert await here.call("ask", {"sid": there.sid, "question": "why"}) == "why!"


async def test_each_socket_gets_an_emit_to_several_rooms_once(
        servers: tuple[str, str], clients: list[Client]) -> None:
    one, two = servers
    here = await Client().connect(one)
    both, only_a = await Client().connect(two), await Client().connect(two)
    local_both = await Client().connect(one)
    clients += [here, both, only_a, local_both]
    for client, rooms in ((both, ["a", "b"]), (only_a, ["a"]), (local_both, ["a", "b"])):
        for room in rooms:
            await client.call("join", room)
    # Text takes the frame path, binary python-socketio's JSON path: both deliver once.
    for payload in ("text", {"blob": b"\x00\x01"}):
        await here.call("shout", {"to": ["a", "b"], "payload": payload})
        for client in (both, only_a, local_both):
            assert await client.next() == payload
    await here.call("shout", {"to": "a", "payload": "end"})
    for client in (both, only_a, local_both):
        assert await client.next() == "end"
    assert here.heard.empty()


async def test_sid_and_namespace_wide_emits_reach_the_other_server(
        servers: tuple[str, str], clients: list[Client]) -> None:
    one, two = servers
    here, there, bystander = [await Client().connect(url) for url in (one, two, two)]
    clients += [here, there, bystander]
    for client in (here, there, bystander):
        await client.ready()
    await here.call("shout", {"to": there.sid, "payload": "just you"})
    assert await there.next() == "just you"
    await there.call("shout", {"to": None, "payload": "everyone"})
    for client in (here, bystander):
        assert await client.next() == "everyone"
    assert there.heard.empty() and bystander.heard.empty() and here.heard.empty()
