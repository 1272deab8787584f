"""Edits, deletions and reactions across two `pipechat serve` processes behind Redis."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from realtime.peers import Peer
from support import ServerProcess, register

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


async def test_every_member_on_either_process_hears_each_change(
        two_servers: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = two_servers
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as api_a, \
            httpx.AsyncClient(base_url=b.url, timeout=30) as api_b:
        alice, bob = await register(api_a), await register(api_a)
        alice_a = await Peer().connect(a.url, alice.access_token)
        bob_b = await Peer().connect(b.url, bob.access_token)
        try:
            created = await alice_a.call("create_chat", {"name": "T", "userIds": [bob.id]})
            chat = created["data"]["id"]
            for peer in (alice_a, bob_b):
                await peer.next("chat_created")
                await peer.call("enter_chat", {"chatIds": [chat]})
            sent = (await alice_a.call("send_message", {"chatId": chat, "message": "hi"}))["data"]
            await bob_b.next("receive_message")
            reply = await bob_b.call("send_message", {"chatId": chat, "message": "yo",
                                                      "replyToId": sent["id"]})
            assert reply["data"]["replyTo"]["id"] == sent["id"]
            assert (await alice_a.next("receive_message"))["replyTo"] == reply["data"]["replyTo"]

            edited = await alice_a.call("edit_message", {"messageId": sent["id"],
                                                         "message": "hi!"})
            for peer in (alice_a, bob_b):
                event = await peer.next("message_updated")
                assert event["message"]["message"] == "hi!"
                assert event["seq"] == reply["data"]["seq"] + 1 and edited["status"] == "ok"
            put = await api_b.put(f"/chats/{chat}/messages/{sent['id']}/reactions/{quote('👍')}",
                                  headers=bob.bearer)
            assert put.status_code == 200
            for peer in (alice_a, bob_b):
                assert await peer.next("reaction_added") == put.json()
            removed = await bob_b.call("remove_reaction", {"messageId": sent["id"],
                                                           "emoji": "👍"})
            for peer in (alice_a, bob_b):
                assert await peer.next("reaction_removed") == removed["data"]
            deleted = await api_a.delete(f"/chats/{chat}/messages/{sent['id']}",
                                         headers=alice.bearer)
            assert deleted.status_code == 200
            for peer in (alice_a, bob_b):
                assert await peer.next("message_deleted") == deleted.json()
            seqs = [put.json()["seq"], removed["data"]["seq"], deleted.json()["seq"]]
            assert seqs == sorted(seqs) and len(set(seqs)) == 3
            shown = (await api_b.get(f"/chats/{chat}/messages", headers=bob.bearer)).json()
            assert [m["message"] for m in shown["data"]] == [None, "yo"]
            assert shown["data"][1]["replyTo"]["message"] is None
        finally:
            await alice_a.close()
            await bob_b.close()
