"""`typing`: relayed to the other sockets of the chat's room, throttled, expired, never stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from realtime.peers import Peer
from support import Account, LiveServer, create_chat, live_server, make_settings, register

TIMEOUT = 1.0  # PIPECHAT_TYPING_TIMEOUT_SECONDS of these tests' server


@pytest.fixture
async def typing_server(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A server whose typing expires quickly and whose renewals are never rebroadcast."""
    settings = make_settings(database_url, tmp_path, typing_timeout_seconds=TIMEOUT,
                             typing_throttle_seconds=60)
    async with live_server(settings) as running:
        yield running


@pytest.fixture
async def room(typing_server: LiveServer) -> AsyncIterator[tuple[int, list[Account], list[Peer]]]:
    """Alice, Bob and Carol in a chat, a socket each in its room."""
    async with httpx.AsyncClient(base_url=typing_server.url, timeout=30) as api:
        accounts = [await register(api) for _ in range(3)]
        chat = (await create_chat(api, accounts[0], *accounts[1:]))["id"]
    peers = [await Peer().connect(typing_server.url, a.access_token) for a in accounts]
    for peer in peers:
        assert (await peer.call("enter_chat", {"chatIds": [chat]}))["status"] == "ok"
    yield chat, accounts, peers
    for peer in peers:
        await peer.close()


async def test_typing_reaches_the_others_and_renewals_are_only_acked(
        room: tuple[int, list[Account], list[Peer]]) -> None:
    chat, (alice, _bob, _carol), (alice_s, bob_s, carol_s) = room
    ack = await alice_s.call("typing", {"chatId": chat, "typing": True})
    assert ack == {"status": "ok", "data": {"chatId": chat, "typing": True}}
    for peer in (bob_s, carol_s):
        assert await peer.next("typing") == {"chatId": chat, "userId": alice.id, "typing": True}
    for _ in range(5):  # a keystroke each: acked, not rebroadcast
        assert (await alice_s.call("typing", {"chatId": chat, "typing": True}))["status"] == "ok"
    assert (await alice_s.call("typing", {"chatId": chat, "typing": False}))["status"] == "ok"
    assert await bob_s.next("typing") == {"chatId": chat, "userId": alice.id, "typing": False}
    # A stop for nothing typed is acked and sends nothing.
    assert (await alice_s.call("typing", {"chatId": chat, "typing": False}))["status"] == "ok"
    marker = await carol_s.call("send_message", {"chatId": chat, "message": "marker"})
    assert await bob_s.next("receive_message") == marker["data"]
    assert bob_s.backlog("typing") == 0 and carol_s.backlog("typing") == 1
    assert alice_s.backlog("typing") == 0  # never the sender's own socket


async def test_typing_expires_without_renewal_and_renewals_extend_it(
        room: tuple[int, list[Account], list[Peer]]) -> None:
    chat, (alice, _bob, _carol), (alice_s, bob_s, _carol_s) = room
    await alice_s.call("typing", {"chatId": chat, "typing": True})
    assert (await bob_s.next("typing"))["typing"] is True
    for _ in range(4):  # renewed for twice the timeout: no expiry meanwhile
        await asyncio.sleep(TIMEOUT / 2)
        await alice_s.call("typing", {"chatId": chat, "typing": True})
    assert bob_s.backlog("typing") == 0
    assert await bob_s.next("typing") == {"chatId": chat, "userId": alice.id, "typing": False}


async def test_a_saved_message_and_a_disconnect_stop_typing(
        room: tuple[int, list[Account], list[Peer]]) -> None:
    chat, (alice, bob, _carol), (alice_s, bob_s, carol_s) = room
    await alice_s.call("typing", {"chatId": chat, "typing": True})
    assert (await bob_s.next("typing"))["typing"] is True
    sent = await alice_s.call("send_message", {"chatId": chat, "message": "hi"})
    assert await bob_s.next("typing") == {"chatId": chat, "userId": alice.id, "typing": False}
    assert await bob_s.next("receive_message") == sent["data"]
    assert [(await carol_s.next("typing"))["typing"] for _ in range(2)] == [True, False]

    await bob_s.call("typing", {"chatId": chat, "typing": True})
    assert (await carol_s.next("typing"))["userId"] == bob.id
    await bob_s.close()
    assert await carol_s.next("typing") == {"chatId": chat, "userId": bob.id, "typing": False}
    assert (await alice_s.next("typing"))["typing"] is True


async def test_bad_typing_events_get_coded_errors_and_nothing_is_stored(
        typing_server: LiveServer,
        room: tuple[int, list[Account], list[Peer]]) -> None:
    chat, (alice, _bob, _carol), (alice_s, bob_s, _carol_s) = room
    async with httpx.AsyncClient(base_url=typing_server.url, timeout=30) as api:
        stranger = await register(api)
        before = (await api.get(f"/chats/{chat}", headers=alice.bearer)).json()["seq"]
        outsider = await Peer().connect(typing_server.url, stranger.access_token)
        try:
            refused = await outsider.call("typing", {"chatId": chat, "typing": True})
            assert refused["status"] == "error" and refused["code"] == 101
            for bad in ({"chatId": chat}, {"chatId": chat, "typing": "yes"},
                        {"chatId": "1", "typing": True}, {"chatId": chat, "typing": True, "x": 1}):
                reply = await alice_s.call("typing", bad)
                assert reply["status"] == "error" and reply["code"] == 103, (bad, reply)
            await alice_s.emit("typing", {"chatId": 0, "typing": True})
            assert (await alice_s.next("exception"))["code"] == 103
            await alice_s.call("typing", {"chatId": chat, "typing": True})
            assert (await bob_s.next("typing"))["typing"] is True
        finally:
            await outsider.close()
        after = await api.get(f"/chats/{chat}", headers=alice.bearer)
        assert after.json()["seq"] == before  # not in the change log
        sync = await api.get("/sync", headers=alice.bearer)
        assert "typing" not in sync.text
