"""The per-chat change log: creation and messages numbered in order, read by seq."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from realtime.peers import Peer
from support import Account, LiveServer, Send, create_chat, register

CHANGE_KEYS = {"seq", "kind", "by", "at", "data"}


async def changes(api: httpx.AsyncClient, chat_id: int, account: Account,
                  **params: Any) -> dict[str, Any]:
    response = await api.get(f"/chats/{chat_id}/changes", params=params,
                             headers=account.bearer)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_creation_and_messages_are_numbered_in_order(api: httpx.AsyncClient,
                                                           send: Send) -> None:
    owner, friend = await register(api), await register(api)
    chat = await create_chat(api, owner, friend)
    assert chat["seq"] == 1
    saved = await send(chat["id"], friend, ["one", "two", "three"])
    assert [m.seq for m in saved] == [2, 3, 4]
    page = await changes(api, chat["id"], owner)
    assert page["count"] == 4 and page["next"] is None
    assert all(set(change) == CHANGE_KEYS for change in page["data"])
    created, *messages = page["data"]
    assert created["seq"] == 1 and created["kind"] == "chat_created"
    assert created["by"] == owner.id and created["data"] == {
        "kind": "group", "name": chat["name"], "userIds": sorted([owner.id, friend.id])}
    assert [c["seq"] for c in messages] == [2, 3, 4]
    assert all(c["kind"] == "message" and c["by"] == friend.id for c in messages)
    assert [c["data"]["message"] for c in messages] == ["one", "two", "three"]
    assert messages[0]["data"]["id"] == saved[0].id and messages[0]["data"]["seq"] == 2
    history = (await api.get(f"/chats/{chat['id']}/messages", headers=owner.bearer)).json()
    assert [m["seq"] for m in history["data"]] == [2, 3, 4]
    state = (await api.get(f"/chats/{chat['id']}", headers=friend.bearer)).json()
    assert state["seq"] == 4


async def test_changes_page_by_seq_and_only_for_members(api: httpx.AsyncClient,
                                                        send: Send) -> None:
    owner, stranger = await register(api), await register(api)
    chat = await create_chat(api, owner)
    await send(chat["id"], owner, [f"m{i}" for i in range(4)])
    first = await changes(api, chat["id"], owner, take=2)
    assert [c["seq"] for c in first["data"]] == [1, 2] and first["next"] is not None
    second = (await api.get(first["next"], headers=owner.bearer)).json()
    assert [c["seq"] for c in second["data"]] == [3, 4]
    rest = (await api.get(second["next"], headers=owner.bearer)).json()
    assert [c["seq"] for c in rest["data"]] == [5] and rest["next"] is None
    after = await changes(api, chat["id"], owner, after=5)
    assert after == {"data": [], "count": 0, "next": None}
    refused = await api.get(f"/chats/{chat['id']}/changes", headers=stranger.bearer)
    assert refused.status_code == 403 and refused.json()["code"] == 101
    missing = await api.get("/chats/999999/changes", headers=owner.bearer)
    assert missing.status_code == 404 and missing.json()["code"] == 100


@pytest.mark.parametrize("query", ["after=-1", "after=x", "take=0", "take=101", "other=1",
                                   "after=1&after=2"])
async def test_changes_refuse_bad_parameters(api: httpx.AsyncClient, query: str) -> None:
    owner = await register(api)
    chat = await create_chat(api, owner)
    response = await api.get(f"/chats/{chat['id']}/changes?{query}", headers=owner.bearer)
    assert response.status_code == 400 and response.json()["code"] == 103


async def test_live_messages_and_chat_created_carry_seq(api: httpx.AsyncClient,
                                                        server: LiveServer) -> None:
    alice, bob = await register(api), await register(api)
    a, b = Peer(), Peer()
    try:
        await a.connect(server.url, alice.access_token)
        await b.connect(server.url, bob.access_token)
        created = await a.call("create_chat", {"userIds": [bob.id]})
        assert created["data"]["seq"] == 1
        assert (await b.next("chat_created")) == created["data"]
        chat_id = created["data"]["id"]
        assert (await b.call("enter_chat", {"chatIds": [chat_id]}))["status"] == "ok"
        sent = [await a.call("send_message", {"chatId": chat_id, "message": f"m{i}"})
                for i in range(3)]
        assert [ack["data"]["seq"] for ack in sent] == [2, 3, 4]
        for ack in sent:
            assert await b.next("receive_message") == ack["data"]
        again = await a.call("send_message", {"chatId": chat_id, "message": "x",
                                              "clientMessageId": "k1"})
        resent = await a.call("send_message", {"chatId": chat_id, "message": "x",
                                               "clientMessageId": "k1"})
        assert resent == again and again["data"]["seq"] == 5
    finally:
        await a.close()
        await b.close()
