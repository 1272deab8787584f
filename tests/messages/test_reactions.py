"""Reactions over the socket and REST: one per user, message and emoji; counts and `me`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import func, select

from chats.conftest import People, call, make_group
from pipechat.changes.models import ChatChange
from pipechat.messages.models import Reaction
from realtime.peers import Peer
from support import LiveServer, count_rows, create_chat, live_server, make_settings, register

from .test_actions import history, send


async def test_add_and_remove_with_counts_and_me(api: httpx.AsyncClient, people: People,
                                                 server: LiveServer) -> None:
    owner, member, third = await people(3)
    chat = await make_group(api, owner, member, third)
    sent = await send(owner, chat["id"], "react to me")
    ack = await member.socket.call("add_reaction", {"messageId": sent["id"], "emoji": "👍"})
    assert ack["status"] == "ok"
    added = ack["data"]
    assert added == {"chatId": chat["id"], "messageId": sent["id"], "userId": member.id,
                     "emoji": "👍", "count": 1, "seq": sent["seq"] + 1}
    for person in (owner, member, third):
        assert await person.socket.next("reaction_added") == added
    # Adding twice (a retry after a lost ack) changes nothing and tells nobody.
    again = await member.socket.call("add_reaction", {"messageId": sent["id"], "emoji": "👍"})
    assert again["data"]["count"] == 1 and again["data"]["seq"] == added["seq"]
    url = f"/chats/{chat['id']}/messages/{sent['id']}/reactions"
    put = await call(api, "PUT", f"{url}/{quote('👍')}", third)
    assert put.status_code == 200 and put.json()["count"] == 2
    heart = await call(api, "PUT", f"{url}/{quote('❤️')}", owner)
    assert heart.status_code == 200 and heart.json()["count"] == 1
    [shown] = await history(api, member, chat["id"])
    assert shown["reactions"] == [{"emoji": "👍", "count": 2, "me": True},
                                  {"emoji": "❤️", "count": 1, "me": False}]
    [seen_by_owner] = await history(api, owner, chat["id"])
    assert [r["me"] for r in seen_by_owner["reactions"]] == [False, True]
    removed = await member.socket.call("remove_reaction", {"messageId": sent["id"],
                                                           "emoji": "👍"})
    assert removed["data"]["count"] == 1 and removed["data"]["seq"] == sent["seq"] + 4
    for person in (owner, member, third):
        assert (await person.socket.next("reaction_added"))["userId"] == third.id
        await person.socket.next("reaction_added")  # the heart
        assert await person.socket.next("reaction_removed") == removed["data"]
    absent = await call(api, "DELETE", f"{url}/{quote('👍')}", member)
    assert absent.status_code == 200 and absent.json()["seq"] == removed["data"]["seq"]
    assert member.socket.backlog("reaction_removed") == 0
    assert await count_rows(server, Reaction) == 2
    log = (await call(api, "GET", f"/chats/{chat['id']}/changes", owner)).json()["data"]
    assert [(c["kind"], c["by"], c["data"]) for c in log[2:]] == [
        ("reaction_added", member.id, {"messageId": sent["id"], "userId": member.id,
                                       "emoji": "👍", "count": 1}),
        ("reaction_added", third.id, {"messageId": sent["id"], "userId": third.id,
                                      "emoji": "👍", "count": 2}),
        ("reaction_added", owner.id, {"messageId": sent["id"], "userId": owner.id,
                                      "emoji": "❤️", "count": 1}),
        ("reaction_removed", member.id, {"messageId": sent["id"], "userId": member.id,
                                         "emoji": "👍", "count": 1})]


async def test_bad_reactions_are_refused_and_change_nothing(api: httpx.AsyncClient,
                                                            people: People,
                                                            server: LiveServer) -> None:
    owner, member, stranger = await people(3)
    chat = await make_group(api, owner, member)
    sent = await send(owner, chat["id"], "x")
    for emoji in ("a", "👍👍", "", "👍 ", "🇫", "x" * 65, "\ud800"):
        ack = await member.socket.call("add_reaction", {"messageId": sent["id"], "emoji": emoji})
        assert ack["status"] == "error" and ack["code"] == 103, (emoji, ack)
    for payload in ({"messageId": sent["id"]}, {"emoji": "👍"}, ["👍"],
                    {"messageId": sent["id"], "emoji": 1}):
        assert (await member.socket.call("add_reaction", payload))["code"] == 103
    outsider = await stranger.socket.call("add_reaction", {"messageId": sent["id"],
                                                           "emoji": "👍"})
    assert outsider["code"] == 145
    url = f"/chats/{chat['id']}/messages/{sent['id']}/reactions"
    for emoji in ("a", quote("👍👍"), "%F0%9F"):
        bad = await call(api, "PUT", f"{url}/{emoji}", member)
        assert bad.status_code == 400 and bad.json()["code"] == 103, emoji
    assert (await call(api, "PUT", f"{url}/{quote('👍')}", stranger)).json()["code"] == 101
    assert await count_rows(server, Reaction) == 0
    assert await count_rows(server, ChatChange) == 2  # the chat's creation and the message
    assert member.socket.backlog("reaction_added") == 0


async def test_distinct_reactions_per_message_are_bounded(database_url: str,
                                                          tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, reactions_per_message_max=2)
    async with live_server(settings) as running, httpx.AsyncClient(base_url=running.url) as api:
        alice, bob = await register(api), await register(api)
        chat = await create_chat(api, alice, bob)
        peer = await Peer().connect(running.url, alice.access_token)
        try:
            sent = (await peer.call("send_message", {"chatId": chat["id"], "message": "m"}))
            mid = sent["data"]["id"]
            for emoji in ("👍", "❤️"):
                assert (await peer.call("add_reaction", {"messageId": mid,
                                                         "emoji": emoji}))["status"] == "ok"
            third = await peer.call("add_reaction", {"messageId": mid, "emoji": "🎉"})
            assert third["code"] == 162 and third["details"] == {"max": 2}
            url = f"/chats/{chat['id']}/messages/{mid}/reactions/{quote('👍')}"
            more = await api.put(url, headers=bob.bearer)  # an emoji already there: fine
            assert more.status_code == 200 and more.json()["count"] == 2
            refused = await api.put(url.replace(quote("👍"), quote("🎉")), headers=bob.bearer)
            assert refused.status_code == 409 and refused.json()["code"] == 162
        finally:
            await peer.close()


async def test_a_burst_of_reactions_is_rate_limited_like_any_event(database_url: str,
                                                                   tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, rate_limit_per_second=0.01,
                             rate_limit_burst=5)
    async with live_server(settings) as running, httpx.AsyncClient(base_url=running.url) as api:
        alice, bob = await register(api), await register(api)
        chat = await create_chat(api, alice, bob)
        peer = await Peer().connect(running.url, alice.access_token)
        try:
            sent = await peer.call("send_message", {"chatId": chat["id"], "message": "m"})
            emojis = ["👍", "❤️", "🎉", "👀", "🔥", "😂", "🙏"]
            acks = [await peer.call("add_reaction", {"messageId": sent["data"]["id"],
                                                     "emoji": emoji}) for emoji in emojis]
            codes = [ack.get("code") for ack in acks]
            assert codes[:4] == [None] * 4 and codes[4:] == [105] * 3
        finally:
            await peer.close()
        async with running.context.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(Reaction)) == 4
