"""The lean uvicorn websocket protocol, served by real uvicorn to a real websockets client."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request
from websockets.protocol import Protocol

from pipechat.realtime import uvicorn_ws
from pipechat.realtime.leanqueue import LeanEvent, LeanQueue
from pipechat.realtime.upstream import source_sha256
from support import serve_asgi


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app that accepts a websocket and echoes every message until the client leaves."""
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept", "headers": [(b"x-echo", b"1")]})
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": event.get("text"),
                    "bytes": event.get("bytes")})


def test_protocol_is_tied_to_the_known_uvicorn_source() -> None:
    matches = source_sha256(WebSocketsSansIOProtocol) == uvicorn_ws.KNOWN_PROTOCOL_SOURCE
    assert uvicorn_ws.PATCH_APPLIES is matches
    expected = uvicorn_ws.LeanWebSocketProtocol if matches else "auto"
    assert uvicorn_ws.websocket_protocol() == expected


async def test_lean_protocol_echoes_and_forgets_the_handshake() -> None:
    if not uvicorn_ws.PATCH_APPLIES:
        pytest.skip("uvicorn's protocol changed: the lean subclass is off, uvicorn's code runs")
    server = uvicorn.Server(uvicorn.Config(echo, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off", ws=uvicorn_ws.websocket_protocol()))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # startup failed: raise its error
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with connect(f"ws://127.0.0.1:{port}/") as client:
            assert client.response.headers["x-echo"] == "1"
            await client.send("hello")
            assert await client.recv() == "hello"
            await client.send(b"\x00" * 200_000)  # bigger than one socket write
            assert await client.recv() == b"\x00" * 200_000
            (protocol,) = server.server_state.connections
            assert isinstance(protocol, WebSocketsSansIOProtocol)
            assert type(protocol.queue) is LeanQueue and type(protocol.writable) is LeanEvent
            assert not hasattr(protocol, "request") and not hasattr(protocol, "response")
            # Nothing holds the handshake request any more, the frame parser's frame included.
            assert uvicorn_ws.PARSER_SWAP_APPLIES
            assert protocol.conn.parser.gi_code is Protocol.parse.__code__
            assert [o for o in gc.get_objects() if type(o) is Request] == [client.request]
            await client.send("after the swap")
            assert await client.recv() == "after the swap"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)


async def burst_then_close(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Sends 200 frames within one turn of the loop, then closes with code 4000."""
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    for n in range(200):
        await send({"type": "websocket.send", "text": f"m{n}"})
    await send({"type": "websocket.send", "bytes": b"\x01\x02"})
    await send({"type": "websocket.close", "code": 4000})


async def test_frames_of_one_turn_arrive_whole_in_order_before_the_close() -> None:
    if not uvicorn_ws.PATCH_APPLIES:
        pytest.skip("uvicorn's protocol changed: the lean subclass is off, uvicorn's code runs")
    async with (serve_asgi(burst_then_close, lifespan="off",
                           ws=uvicorn_ws.websocket_protocol()) as url,
                connect(url.replace("http://", "ws://") + "/") as client):
        received = [await client.recv() for _ in range(201)]
        with pytest.raises(ConnectionClosed) as closed:
            await client.recv()
    assert received == [f"m{n}" for n in range(200)] + [b"\x01\x02"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
