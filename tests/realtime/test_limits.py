"""Throttles on the socket: `create_chat` per user (shared with REST) and open sockets per user."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import socketio

from pipechat.chats.models import Chat
from realtime.peers import WAIT, Peer
from support import LiveServer, count_rows, live_server, make_settings, register

WINDOW = 600


@pytest.fixture
async def limited(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A server allowing 3 chats per user per window and 3 open sockets per user."""
    settings = make_settings(database_url, tmp_path, chats_per_user=3,
                             chats_window_seconds=WINDOW, sockets_per_user=3)
    async with live_server(settings) as running:
        yield running


@pytest.fixture
async def peers() -> AsyncIterator[list[Peer]]:
    """Sockets to close after the test."""
    opened: list[Peer] = []
    yield opened
    for peer in opened:
        await peer.close()


async def test_create_chat_is_limited_per_user_across_rest_and_socket(
        limited: LiveServer, peers: list[Peer]) -> None:
    async with httpx.AsyncClient(base_url=limited.url, timeout=30) as api:
        spammer, victim = await register(api), await register(api)
        made = await api.post("/chats", json={"userIds": [victim.id]}, headers=spammer.bearer)
        assert made.status_code == 201, made.text
    peer = await Peer().connect(limited.url, spammer.access_token)
    peers.append(peer)
    for _ in range(2):
        assert (await peer.call("create_chat", {"userIds": [victim.id]}))["status"] == "ok"
    ack = await peer.call("create_chat", {"userIds": [victim.id]})
    assert ack["status"] == "error" and ack["code"] == 105, ack
    assert 1 <= ack["details"]["retryAfter"] <= WINDOW and set(ack["details"]) == {"retryAfter"}
    # Without an ack callback the refusal is an `exception` event, with the same details.
    await peer.emit("create_chat", {"userIds": [victim.id]})
    exception = await peer.next("exception")
    assert exception["code"] == 105 and exception["details"]["retryAfter"] >= 1
    assert await count_rows(limited, Chat) == 3
    # The socket stays usable.
    assert (await peer.call("leave_chat", {"chatIds": [1]}))["status"] == "ok"


async def until_open_sockets(server: LiveServer, user_id: int, count: int) -> None:
    """Wait until the server has handled disconnects and counts `count` sockets of the user."""
    sockets = server.context.limits.sockets
    for _ in range(int(WAIT / 0.01)):
        if sockets.open_sockets(user_id) == count:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"the server still counts {sockets.open_sockets(user_id)} sockets")


async def refused_connect(server: LiveServer, token: str, transport: str) -> object:
    """Try to connect; the `connect_error` data of the refusal."""
    peer = Peer([transport])
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(server.url, token)
    error = await peer.next("connect_error")
    await peer.close()
    assert isinstance(error, dict)
    return error["data"]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_open_sockets_per_user_are_capped(limited: LiveServer, peers: list[Peer],
                                                transport: str) -> None:
    async with httpx.AsyncClient(base_url=limited.url, timeout=30) as api:
        user, other = await register(api), await register(api)
    for _ in range(3):
        peers.append(await Peer([transport]).connect(limited.url, user.access_token))
    for _ in range(2):  # a refusal takes no slot
        data = await refused_connect(limited, user.access_token, transport)
        assert isinstance(data, dict) and data["code"] == 105, data
        assert "sockets" in data["message"] and set(data) == {"code", "message"}
    # Another user is not affected.
    peers.append(await Peer([transport]).connect(limited.url, other.access_token))
    # One socket closes: exactly one more may open.
    await peers[0].close()
    await until_open_sockets(limited, user.id, 2)
    peers.append(await Peer([transport]).connect(limited.url, user.access_token))
    assert peers[-1].client.connected
    assert (await peers[-1].call("leave_chat", {"chatIds": [1]}))["status"] == "ok"
    data = await refused_connect(limited, user.access_token, transport)
    assert isinstance(data, dict) and data["code"] == 105
