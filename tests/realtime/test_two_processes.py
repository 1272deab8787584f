"""Two `pipechat serve` processes on one PostgreSQL and one Redis act as one server."""

from __future__ import annotations

import httpx
import pytest
import socketio

from realtime.peers import Peer, make_chat
from support import (
    PASSWORD,
    ServerProcess,
    basic,
    register,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


async def test_messages_cross_processes_and_skip_only_the_sender_socket(
        two_servers: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = two_servers
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as api:
        alice, bob, carol = [await register(api) for _ in range(3)]
    peers: list[Peer] = []

    async def on(server: ServerProcess, token: str) -> Peer:
        peers.append(await Peer().connect(server.url, token))
        return peers[-1]

    try:
        alice_a, carol_a = await on(a, alice.access_token), await on(a, carol.access_token)
        alice_b, bob_b = await on(b, alice.access_token), await on(b, bob.access_token)
        chat = await make_chat(alice_a, bob.id, carol.id)
        # chat_created reaches every member's sockets on both processes.
        for peer in (alice_b, bob_b, carol_a):
            assert (await peer.next("chat_created"))["id"] == chat
        for peer in peers:
            assert (await peer.call("enter_chat", {"chatIds": [chat]}))["status"] == "ok"

        sent = await alice_a.call("send_message", {"chatId": chat, "message": "from A"})
        assert sent["status"] == "ok"
        # Process B's sockets get it, alice's other socket included; only the sender is skipped.
        for peer in (bob_b, alice_b, carol_a):
            assert await peer.next("receive_message") == sent["data"]
        marker = await carol_a.call("send_message", {"chatId": chat, "message": "marker"})
        # A publishes in commit order, so the sender's first message is the later marker.
        assert await alice_a.next("receive_message") == marker["data"]

        for peer in (alice_b, bob_b):
            assert await peer.next("receive_message") == marker["data"]

        reply = await bob_b.call("send_message", {"chatId": chat, "message": "from B"})
        for peer in (alice_a, carol_a, alice_b):
            assert await peer.next("receive_message") == reply["data"]
        marker = await alice_b.call("send_message", {"chatId": chat, "message": "marker B"})
        assert await bob_b.next("receive_message") == marker["data"]
    finally:
        for peer in peers:
            await peer.close()


async def test_logout_on_one_process_disconnects_the_sessions_sockets_on_both(
        two_servers: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = two_servers
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as api:
        alice = await register(api)
        other = (await api.post("/auth/login/email", headers=basic(alice.email, PASSWORD))
                 ).json()["accessToken"]
        peers = [await Peer().connect(a.url, alice.access_token),
                 await Peer().connect(b.url, alice.access_token),
                 await Peer().connect(b.url, other)]
        try:
            assert (await api.post("/auth/logout", headers=alice.bearer)).status_code == 204
            for peer in peers[:2]:
                assert (await peer.next("exception"))["code"] == 114
                await peer.next("disconnect")
                assert not peer.client.connected
            # The same user's other session keeps its socket on B.
            assert (await peers[2].call("leave_chat", {"chatIds": [1]}))["status"] == "ok"
            assert peers[2].client.connected and peers[2].backlog("exception") == 0
        finally:
            for peer in peers:
                await peer.close()


async def test_a_session_logged_out_on_one_process_is_refused_by_the_others_cache(
        two_servers: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = two_servers
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as api:
        alice = await register(api)
        # B has seen the session open (its connect cache remembers it for a minute).
        first, second = (await Peer().connect(b.url, alice.access_token),
                         await Peer().connect(b.url, alice.access_token))
        await second.close()
        try:
            assert (await api.post("/auth/logout", headers=alice.bearer)).status_code == 204
            # The broadcast that ends B's socket has reached B by now ...
            assert (await first.next("exception"))["code"] == 114
            await first.next("disconnect")
            # ... and B refuses the session on a new connect, without waiting out its cache.
            refused = Peer()
            with pytest.raises(socketio.exceptions.ConnectionError):
                await refused.connect(b.url, alice.access_token)
            assert (await refused.next("connect_error"))["data"]["code"] == 114
            await refused.close()
        finally:
            await first.close()
