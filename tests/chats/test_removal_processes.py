"""Removal across two `pipechat serve` processes sharing PostgreSQL and Redis."""

from __future__ import annotations

import httpx
import pytest

from realtime.peers import Peer
from support import ServerProcess, register

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


async def test_removal_on_one_process_takes_the_members_sockets_out_on_both(
        two_servers: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = two_servers
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as api:
        owner, bob = await register(api), await register(api)
        peers: list[Peer] = []
        try:
            owner_a = await Peer().connect(a.url, owner.access_token)
            bob_a = await Peer().connect(a.url, bob.access_token)
            bob_b = await Peer().connect(b.url, bob.access_token)
            peers += [owner_a, bob_a, bob_b]
            ids = []
            for name in ("Team", "Elsewhere"):
                created = await owner_a.call("create_chat", {"name": name, "userIds": [bob.id]})
                ids.append(created["data"]["id"])
            chat, elsewhere = ids
            for peer in peers:
                assert (await peer.call("enter_chat", {"chatIds": ids}))["status"] == "ok"
            # Both of bob's sockets have the chat in their process's membership cache.
            warm = await bob_b.call("send_message", {"chatId": chat, "message": "warm"})
            assert warm["status"] == "ok"

            removed = await api.delete(f"/chats/{chat}/members/{bob.id}", headers=owner.bearer)
            assert removed.status_code == 200
            for peer in (bob_a, bob_b, owner_a):
                assert await peer.next("member_removed") == removed.json()
            after = await owner_a.call("send_message", {"chatId": chat, "message": "bye"})
            marker = await owner_a.call("send_message",
                                        {"chatId": elsewhere, "message": "marker"})
            assert after["status"] == "ok" and marker["status"] == "ok"
            await bob_a.next("receive_message")  # "warm", from bob's other socket
            for peer in (bob_a, bob_b):
                assert await peer.next("receive_message") == marker["data"]
                assert (await peer.call("send_message",
                                        {"chatId": chat, "message": "x"}))["code"] == 101
                assert (await peer.call("enter_chat", {"chatIds": [chat]}))["code"] == 101
        finally:
            for peer in peers:
                await peer.close()
