"""Presence on one process: announced to chat peers, debounced, shown to them and nobody else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from realtime.peers import Peer
from support import LiveServer, create_chat, live_server, make_settings, register

GRACE = 1.0  # PIPECHAT_PRESENCE_GRACE_SECONDS of these tests' server


@pytest.fixture
async def presence_server(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A server with a short offline grace period."""
    async with live_server(make_settings(database_url, tmp_path,
                                         presence_grace_seconds=GRACE)) as running:
        yield running


async def test_peers_see_presence_and_strangers_do_not(presence_server: LiveServer) -> None:
    url = presence_server.url
    async with httpx.AsyncClient(base_url=url, timeout=30) as api:
        alice, bob, dave = [await register(api) for _ in range(3)]
        chat = await create_chat(api, alice, bob)
        assert {u["id"]: u["online"] for u in chat["users"]} == {alice.id: False, bob.id: False}
        bob_s = await Peer().connect(url, bob.access_token)
        dave_s = await Peer().connect(url, dave.access_token)
        alice_s = await Peer().connect(url, alice.access_token)
        try:
            came = await bob_s.next("presence")
            assert came["userId"] == alice.id and came["online"] is True
            assert came["lastSeenAt"] is not None
            seen = (await api.get(f"/users/{alice.id}", headers=bob.bearer)).json()
            assert seen["online"] is True and seen["lastSeenAt"] == came["lastSeenAt"]
            listed = (await api.get("/chats", headers=bob.bearer)).json()["data"][0]
            assert {u["id"]: u["online"] for u in listed["users"]} == {alice.id: True,
                                                                     bob.id: True}
            # A stranger gets the profile without presence, and no event.
            hidden = await api.get(f"/users/{alice.id}", headers=dave.bearer)
            assert hidden.status_code == 200
            assert hidden.json()["nickname"] == alice.nickname
            assert "online" not in hidden.json() and "lastSeenAt" not in hidden.json()
            mine = (await api.get(f"/users/{alice.id}", headers=alice.bearer)).json()
            assert mine["online"] is True
            # Alice's own sockets are not told about her.
            assert alice_s.backlog("presence") == 0
            updated_at = mine["updatedAt"]

            await alice_s.close()
            went = await bob_s.next("presence")
            assert went["userId"] == alice.id and went["online"] is False
            assert went["lastSeenAt"] >= came["lastSeenAt"]
            seen = (await api.get(f"/users/{alice.id}", headers=bob.bearer)).json()
            assert seen["online"] is False and seen["lastSeenAt"] == went["lastSeenAt"]
            assert seen["updatedAt"] == updated_at  # presence is not a profile edit
            assert dave_s.backlog("presence") == 0
            # Dave shares no chat with anyone: his coming and going told nobody.
            assert bob_s.backlog("presence") == 0 and alice_s.backlog("presence") == 0
        finally:
            for peer in (bob_s, dave_s, alice_s):
                await peer.close()


async def test_a_quick_reconnect_is_no_flap_and_a_second_socket_keeps_online(
        presence_server: LiveServer) -> None:
    url = presence_server.url
    async with httpx.AsyncClient(base_url=url, timeout=30) as api:
        alice, bob = [await register(api) for _ in range(2)]
        await create_chat(api, alice, bob)
        bob_s = await Peer().connect(url, bob.access_token)
        first = await Peer().connect(url, alice.access_token)
        assert (await bob_s.next("presence"))["online"] is True
        await first.close()
        again = await Peer().connect(url, alice.access_token)  # within the grace period
        other = await Peer().connect(url, alice.access_token)
        await other.close()  # she still has a socket
        await asyncio.sleep(GRACE * 2.5)
        assert bob_s.backlog("presence") == 0
        assert (await api.get(f"/users/{alice.id}", headers=bob.bearer)).json()["online"]
        await again.close()
        assert (await bob_s.next("presence"))["online"] is False
        await bob_s.close()


async def test_users_by_id_errors(presence_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=presence_server.url, timeout=30) as api:
        alice = await register(api)
        missing = await api.get("/users/999999", headers=alice.bearer)
        assert missing.status_code == 404 and missing.json()["code"] == 122
        bad = await api.get("/users/0", headers=alice.bearer)
        assert bad.status_code == 400 and bad.json()["code"] == 103
        anonymous = await api.get(f"/users/{alice.id}")
        assert anonymous.status_code == 401 and anonymous.json()["code"] == 110
