"""The ChatServer: the environ each socket keeps after its namespace connect."""

from __future__ import annotations

import asyncio
from typing import Any

import engineio
import httpx
import pytest

from pipechat.realtime import engineio_writer
from pipechat.realtime.gateway import KEPT_ENVIRON_KEYS, slim_environ
from pipechat.realtime.sendbuffer import SendBuffer
from realtime.peers import NAMESPACE, WAIT, Peer
from support import LiveServer, register


def test_slim_environ_keeps_only_the_listed_keys_in_the_same_dict() -> None:
    scope = {"type": "websocket", "headers": [(b"user-agent", b"node")]}
    environ: dict[str, Any] = {"HTTP_AUTHORIZATION": "Bearer x", "REMOTE_ADDR": "127.0.0.1",
                               "HTTP_USER_AGENT": "node", "asgi.scope": scope,
                               "wsgi.input": object()}
    same = environ
    slim_environ(environ)
    assert same is environ
    assert environ == {"HTTP_AUTHORIZATION": "Bearer x", "REMOTE_ADDR": "127.0.0.1"}
    # The ASGI scope the server keeps for the connection drops its headers as well.
    assert scope == {"type": "websocket", "headers": []}


async def upgraded(peer: Peer) -> None:
    """Wait until the socket moved from long-polling to its websocket (no event tells)."""
    for _ in range(int(WAIT / 0.01)):
        if peer.client.transport() == "websocket":
            return
        await asyncio.sleep(0.01)
    pytest.fail("the socket was not upgraded to websocket")


@pytest.mark.parametrize("transports", [["websocket"], ["polling"], ["polling", "websocket"]])
async def test_connected_socket_keeps_a_slim_environ_and_still_works(
        api: httpx.AsyncClient, server: LiveServer, transports: list[str]) -> None:
    sender, receiver = await register(api), await register(api)
    peer = await Peer(transports).connect(server.url, headers=sender.bearer)
    other = await Peer(transports).connect(server.url, receiver.access_token)
    try:
        if transports == ["polling", "websocket"]:
            await upgraded(peer)
        environ = server.sio.get_environ(peer.client.get_sid(NAMESPACE), NAMESPACE)
        assert set(environ) <= set(KEPT_ENVIRON_KEYS)
        assert environ["HTTP_AUTHORIZATION"] == f"Bearer {sender.access_token}"
        eio_sid = server.sio.manager.eio_sid_from_sid(peer.client.get_sid(NAMESPACE), NAMESPACE)
        # The lean queue only where the engine.io version check lets it in.
        lean = engineio_writer.LEAN_QUEUE_APPLIES
        queue = server.sio.eio.sockets[eio_sid].queue
        assert type(queue) is (SendBuffer if lean else asyncio.Queue)
        created = await peer.call("create_chat", {"userIds": [receiver.id]})
        assert created["status"] == "ok", created
        chat_id = created["data"]["id"]
        assert (await other.call("enter_chat", {"chatIds": [chat_id]}))["status"] == "ok"
        sent = await peer.call("send_message", {"chatId": chat_id, "message": "hi"})
        assert sent["status"] == "ok", sent
        assert await other.next("receive_message") == sent["data"]
        assert sent["data"]["author"] == {"id": sender.id, "nickname": sender.nickname}
    finally:
        await peer.close()
        await other.close()


async def test_namespace_reconnect_on_the_same_connection_reads_the_header_again(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    """A client may leave `/chats` and join it again without a new engine.io connection."""
    account = await register(api)
    client = engineio.AsyncClient()
    messages: asyncio.Queue[str] = asyncio.Queue()

    @client.on("message")
    async def _message(data: str) -> None:
        messages.put_nowait(data)

    await client.connect(server.url, headers=account.bearer, transports=["websocket"],
                         engineio_path="socket.io")
    try:
        for _ in range(2):
            await client.send(f"0{NAMESPACE},")
            reply = await asyncio.wait_for(messages.get(), WAIT)
            assert reply.startswith(f"0{NAMESPACE},{{\"sid\""), reply  # CONNECT, not an error
            await client.send(f"1{NAMESPACE},")
    finally:
        await client.disconnect()
