"""Direct chats (two members, one per pair) and named groups (with a member cap)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipechat.chats.models import Chat
from realtime.peers import Peer
from support import Account, LiveServer, count_rows, live_server, make_settings, register


async def post_chat(api: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    return await api.post("/chats", json=body, headers=account.bearer)


async def test_a_direct_chat_exists_once_per_pair(api: httpx.AsyncClient,
                                                  server: LiveServer) -> None:
    alice, bob = await register(api), await register(api)
    peer = await Peer().connect(server.url, bob.access_token)
    try:
        first = await post_chat(api, alice, kind="direct", userIds=[bob.id])
        assert first.status_code == 201
        chat = first.json()
        assert chat["kind"] == "direct" and chat["name"] is None
        assert [u["id"] for u in chat["users"]] == sorted([alice.id, bob.id])
        assert await peer.next("chat_created") == chat
        again = await post_chat(api, alice, kind="direct", userIds=[bob.id, bob.id])
        assert again.status_code == 200 and again.json() == chat
        ack = await peer.call("create_chat", {"kind": "direct", "userIds": [alice.id]})
        assert ack == {"status": "ok", "data": chat}
        assert peer.backlog("chat_created") == 0  # nothing new was made
        # A group of the same two is another chat.
        group = await post_chat(api, alice, userIds=[bob.id])
        assert group.status_code == 201 and group.json()["kind"] == "group"
        assert await count_rows(server, Chat) == 2
    finally:
        await peer.close()


async def test_two_first_requests_at_once_make_one_direct_chat(api: httpx.AsyncClient,
                                                               server: LiveServer) -> None:
    alice, bob = await register(api), await register(api)
    answers = await asyncio.gather(
        *(post_chat(api, alice, kind="direct", userIds=[bob.id]) for _ in range(3)),
        *(post_chat(api, bob, kind="direct", userIds=[alice.id]) for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert await count_rows(server, Chat) == 1


@pytest.mark.parametrize("body,needle", [
    ({"kind": "direct", "userIds": []}, "userIds"),
    ({"kind": "direct", "userIds": ["self"]}, "userIds"),
    ({"kind": "direct", "userIds": ["other", "third"]}, "userIds"),
    ({"kind": "direct", "userIds": ["other"], "name": "us"}, "name"),
])
async def test_malformed_direct_chats_are_refused(api: httpx.AsyncClient, server: LiveServer,
                                                  body: dict[str, Any], needle: str) -> None:
    me, other, third = await register(api), await register(api), await register(api)
    ids = {"self": me.id, "other": other.id, "third": third.id}
    body = {**body, "userIds": [ids[name] for name in body["userIds"]]}
    response = await post_chat(api, me, **body)
    assert response.status_code == 400 and response.json()["code"] == 103
    assert needle in str(response.json()["message"])
    assert await count_rows(server, Chat) == 0


async def test_groups_are_named_or_named_after_their_members(api: httpx.AsyncClient) -> None:
    alice, bob = await register(api), await register(api)
    named = await post_chat(api, alice, kind="group", name="  Team 🚀 \u200d ok ", userIds=[bob.id])
    assert named.status_code == 201 and named.json()["name"] == "Team 🚀 \u200d ok"
    unnamed = (await post_chat(api, alice, userIds=[bob.id])).json()
    assert unnamed["name"] == f"{alice.nickname}, {bob.nickname}"
    longest = await post_chat(api, alice, name="x" * 100, userIds=[bob.id])
    assert longest.status_code == 201 and longest.json()["name"] == "x" * 100


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "a\nb", "tab\there", "nul\x00",
                                  "rtl\u202eevil", "line\u2028sep", 7])
async def test_bad_group_names_are_refused_with_103(api: httpx.AsyncClient, server: LiveServer,
                                                    name: Any) -> None:
    alice = await register(api)
    response = await post_chat(api, alice, name=name, userIds=[])
    assert response.status_code == 400 and response.json()["code"] == 103
    assert "name" in str(response.json()["message"])
    peer = await Peer().connect(server.url, alice.access_token)
    try:
        ack = await peer.call("create_chat", {"name": name, "userIds": []})
        assert ack["code"] == 103 and ack["details"]["fields"] == ["name"]
    finally:
        await peer.close()
    assert await count_rows(server, Chat) == 0


async def test_the_seed_create_chat_makes_a_group_named_after_its_members(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    alice, bob = await register(api), await register(api)
    peer = await Peer().connect(server.url, alice.access_token)
    try:
        ack = await peer.call("create_chat", {"userIds": [bob.id]})
        assert ack["status"] == "ok"
        assert ack["data"]["kind"] == "group"
        assert ack["data"]["name"] == f"{alice.nickname}, {bob.nickname}"
    finally:
        await peer.close()


async def test_groups_have_at_most_the_configured_members(tmp_path: Path,
                                                          database_url: str) -> None:
    settings = make_settings(database_url, tmp_path, chat_max_members=3)
    async with live_server(settings) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=30) as api:
        owner, *others = [await register(api) for _ in range(4)]
        too_many = await post_chat(api, owner, userIds=[o.id for o in others])
        assert too_many.status_code == 400
        assert too_many.json()["code"] == 142 and too_many.json()["details"] == {"max": 3}
        assert await count_rows(server, Chat) == 0
        fits = await post_chat(api, owner, userIds=[o.id for o in others[:2]])
        assert fits.status_code == 201 and len(fits.json()["users"]) == 3
