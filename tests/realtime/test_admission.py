"""Who may hold a Socket.IO connection: the origin check, the namespace connect deadline."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from realtime.peers import NAMESPACE, WAIT, Peer
from realtime.raw import RawPolling, RawSocket, packets_of
from support import LiveServer, live_server, make_settings, register

CONNECT_TIMEOUT = 1.0


@pytest.fixture
async def hasty_server(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A live server that gives each connection one second to connect to a namespace."""
    settings = make_settings(database_url, tmp_path, connect_timeout_seconds=CONNECT_TIMEOUT)
    async with live_server(settings) as running:
        yield running


async def test_a_connection_without_a_namespace_is_closed_after_the_timeout(
        hasty_server: LiveServer) -> None:
    idle = await RawSocket.open(hasty_server.url)
    refused = await RawSocket.open(hasty_server.url)
    await refused.send("40")  # a refused namespace connect does not count
    assert await idle.until_closed() == ["1"]
    frames = await refused.until_closed()
    assert frames[0].startswith("44") and frames[1:] == ["1"]  # type: ignore[union-attr]
    assert hasty_server.sio.eio.sockets == {}


async def test_a_polling_connection_without_a_namespace_is_closed_after_the_timeout(
        hasty_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=hasty_server.url) as http:
        polling = RawPolling(http)
        assert (await polling.open()).status_code == 200
        async with asyncio.timeout(WAIT):
            while polling.sid in hasty_server.sio.eio.sockets:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        # The session is gone: its next request is refused.
        assert (await polling.get()).status_code == 400


async def test_a_connected_socket_outlives_the_timeout(hasty_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=hasty_server.url) as http:
        account = await register(http)
    raw = await RawSocket.open(hasty_server.url)
    peer = await Peer(["polling"]).connect(hasty_server.url, account.access_token)
    try:
        await raw.connect_chats(account.access_token)
        await asyncio.sleep(3 * CONNECT_TIMEOUT)
        await raw.send(f'42{NAMESPACE},1["leave_chat",{{"chatIds":[1]}}]')
        assert await raw.recv() == f'43{NAMESPACE},1[{{"status":"ok","data":{{"chatIds":[1]}}}}]'
        assert (await peer.call("leave_chat", {"chatIds": [1]}))["status"] == "ok"
    finally:
        await raw.close()
        await peer.close()


async def test_leaving_the_namespace_starts_the_timeout_again(hasty_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=hasty_server.url) as http:
        account = await register(http)
    raw = await RawSocket.open(hasty_server.url)
    await raw.connect_chats(account.access_token)
    await raw.send(f"41{NAMESPACE},")
    assert await raw.until_closed() == ["1"]


def origin_of(server: LiveServer) -> str:
    """The origin a page served by `server` has."""
    return server.url


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
async def test_a_websocket_from_another_origin_is_refused(server: LiveServer,
                                                          origin: str) -> None:
    with pytest.raises(InvalidStatus):
        await RawSocket.open(server.url, {"Origin": origin})
    async with httpx.AsyncClient(base_url=server.url) as http:
        refused = await RawPolling(http).open({"Origin": origin})
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers


async def test_same_origin_and_no_origin_are_accepted(api: httpx.AsyncClient,
                                                      server: LiveServer) -> None:
    account = await register(api)
    for headers in ({"Origin": origin_of(server)}, None):
        raw = await RawSocket.open(server.url, headers)
        try:
            assert "sid" in await raw.connect_chats(account.access_token)
        finally:
            await raw.close()
    polling = RawPolling(api)
    answer = await polling.open({"Origin": origin_of(server)})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == origin_of(server)
    assert packets_of(answer)[0].startswith("0")


async def test_configured_origins_widen_same_origin(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, cors_origins=["http://app.example"])
    async with live_server(settings) as server:
        for origin in ("http://app.example", origin_of(server)):
            raw = await RawSocket.open(server.url, {"Origin": origin})
            await raw.close()
        with pytest.raises(InvalidStatus):
            await RawSocket.open(server.url, {"Origin": "http://evil.example"})
        async with httpx.AsyncClient(base_url=server.url) as http:
            answer = await RawPolling(http).open({"Origin": "http://app.example"})
            assert answer.headers["access-control-allow-origin"] == "http://app.example"


async def through_proxy(server: LiveServer, origin: str) -> RawSocket:
    """A websocket as deploy/nginx/pipechat.conf passes it on: the client's Host and scheme."""
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))
    headers = {"X-Forwarded-Proto": "https", "Origin": origin}
    # The URL names the public host, so that is the Host header; the socket reaches the server.
    return await RawSocket.open("http://chat.example.com:8443", headers, sock=sock)


async def test_same_origin_holds_behind_a_proxy_that_passes_host(server: LiveServer) -> None:
    raw = await through_proxy(server, "https://chat.example.com:8443")
    await raw.close()
    with pytest.raises(InvalidStatus):
        await through_proxy(server, "http://chat.example.com:8443")
