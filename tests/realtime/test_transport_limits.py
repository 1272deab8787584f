"""Size limits the transport enforces before pipechat reads a packet."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from realtime.peers import WAIT
from realtime.raw import RawPolling, RawSocket
from support import LiveServer


async def test_an_oversized_polling_post_is_answered(server: LiveServer) -> None:
    # The server's context manager then has to shut uvicorn down within its own ceiling:
    # a request left hanging would hold it up.
    limit = server.settings.max_payload_bytes
    async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
        for _ in range(3):
            polling = RawPolling(http)
            assert (await polling.open()).status_code == 200
            answer = await polling.post(body=b"4" + b"x" * limit)
            assert answer.status_code in (400, 413)
            # The session is over: the next request on it is refused, not parked.
            assert (await polling.get()).status_code == 400
        assert server.sio.eio.sockets == {}


@pytest.mark.parametrize("body", [b"x-not-a-packet", b"4\xff\xfe", b"d=", b"4hi\x1e\x1e9"])
async def test_a_polling_post_that_is_no_payload_ends_the_session_with_400(
        server: LiveServer, body: bytes) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
        polling = RawPolling(http)
        assert (await polling.open()).status_code == 200
        assert (await polling.post(body=body)).status_code == 400
        assert (await polling.get()).status_code == 400
        assert server.sio.eio.sockets == {}


async def test_a_websocket_frame_over_the_limit_is_refused_by_the_transport(
        server: LiveServer) -> None:
    raw = await RawSocket.open(server.url)
    try:
        await raw.send("4" + "x" * server.settings.max_payload_bytes)
        await raw.until_closed()
    except ConnectionClosed:
        pass
    assert raw.ws.close_code == 1009  # "message too big", from uvicorn's websocket layer


async def test_a_websocket_frame_at_the_limit_passes_the_transport(server: LiveServer) -> None:
    raw = await RawSocket.open(server.url)
    try:
        # Exactly the limit, in bytes: a packet for no namespace, which closes the connection
        # (a namespace that is not connected), i.e. it reached Socket.IO.
        await raw.send("4" + "2" + "x" * (server.settings.max_payload_bytes - 2))
        assert await raw.until_closed() == ["1"]
    finally:
        await raw.close()
    assert raw.ws.close_code != 1009
