"""`GET /chats`: each chat as its member sees it, and the list by last activity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from support import live_server, make_settings, register

from .conftest import People, Person, call, make_group


async def listing(api: httpx.AsyncClient, person: Person, query: str = "") -> dict[str, Any]:
    response = await call(api, "GET", f"/chats{query}", person)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_each_chat_shows_its_last_message_unread_count_and_markers(
        api: httpx.AsyncClient, people: People) -> None:
    alice, bob = await people(2)
    chat = await make_group(api, alice, bob)
    quiet = await make_group(api, alice, bob, name="Quiet")
    sent = [await bob.socket.call("send_message", {"chatId": chat["id"], "message": f"b{i}"})
            for i in range(3)]
    mine = await alice.socket.call("send_message", {"chatId": chat["id"], "message": "mine"})
    page = await listing(api, alice)
    first, second = page["data"]
    assert (first["id"], second["id"]) == (chat["id"], quiet["id"])
    assert first["kind"] == "group" and first["name"] == "Team"
    assert first["lastMessage"] == {key: value for key, value in mine["data"].items()
                                    if key != "previousId"}
    assert first["unreadCount"] == 3 and first["lastReadMessageId"] is None
    assert [(u["id"], u["chatRole"]) for u in first["users"]] == sorted(
        [(alice.id, "owner"), (bob.id, "member")])
    assert second["lastMessage"] is None and second["unreadCount"] == 0
    await alice.socket.call("mark_read", {"chatId": chat["id"],
                                          "messageId": sent[1]["data"]["id"]})
    item = (await listing(api, alice))["data"][0]
    assert item["unreadCount"] == 1 and item["lastReadMessageId"] == sent[1]["data"]["id"]
    assert {u["id"]: u["lastReadMessageId"] for u in item["users"]}[alice.id] == \
        sent[1]["data"]["id"]
    bobs = (await listing(api, bob))["data"][0]
    assert bobs["unreadCount"] == 1 and bobs["lastReadMessageId"] is None  # alice's "mine"
    one = (await call(api, "GET", f"/chats/{chat['id']}", alice)).json()
    assert one == item


async def test_unread_counts_stop_at_the_configured_cap(tmp_path: Path,
                                                        database_url: str) -> None:
    settings = make_settings(database_url, tmp_path, unread_count_max=3)
    async with live_server(settings) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=30) as api:
        alice, bob = await register(api), await register(api)
        chat = (await api.post("/chats", json={"userIds": [bob.id]},
                               headers=alice.bearer)).json()
        writer = server.context.message_writer
        assert writer is not None
        for i in range(5):
            await writer.submit(chat["id"], bob.id, bob.nickname, f"m{i}", None)
        page = (await api.get("/chats", headers=alice.bearer)).json()
        assert page["data"][0]["unreadCount"] == 3


async def test_by_activity_newest_first_with_its_own_cursor(api: httpx.AsyncClient,
                                                            people: People) -> None:
    alice, bob = await people(2)
    chats = [await make_group(api, alice, bob, name=f"c{i}") for i in range(5)]
    ids = [c["id"] for c in chats]
    # Newest creation first; then a message moves a chat to the top.
    assert [c["id"] for c in (await listing(api, alice, "?sort=activity"))["data"]] == ids[::-1]
    await bob.socket.call("send_message", {"chatId": ids[1], "message": "up"})
    expected = [ids[1], ids[4], ids[3], ids[2], ids[0]]
    seen: list[int] = []
    url: str | None = "/chats?sort=activity&take=2"
    pages = 0
    while url is not None:
        page = (await call(api, "GET", url, alice)).json()
        assert set(page) == {"data", "cursor", "count", "next"}
        seen += [c["id"] for c in page["data"]]
        assert page["count"] == len(page["data"])
        assert (page["cursor"]["before"] is None) == (page["next"] is None)
        url, pages = page["next"], pages + 1
        assert pages < 10
    assert seen == expected and pages == 3
    top = (await listing(api, alice, "?sort=activity&take=1"))["data"][0]
    assert top["id"] == ids[1] and top["unreadCount"] == 1
    # The seed's order is untouched.
    assert [c["id"] for c in (await listing(api, alice))["data"]] == ids


async def test_a_hidden_direct_chat_leaves_both_lists(api: httpx.AsyncClient,
                                                      people: People) -> None:
    alice, bob = await people(2)
    direct = (await call(api, "POST", "/chats", alice,
                         {"kind": "direct", "userIds": [bob.id]})).json()
    await call(api, "DELETE", f"/chats/{direct['id']}/members/{alice.id}", alice)
    for query in ("", "?sort=activity"):
        assert (await listing(api, alice, query))["data"] == []
        assert [c["id"] for c in (await listing(api, bob, query))["data"]] == [direct["id"]]


@pytest.mark.parametrize("query", [
    "sort=name", "sort=activity&page=1", "sort=activity&where__id__more_than=1",
    "sort=activity&order__createdAt=DESC", "activity_before=1_1",
    "sort=activity&activity_before=x", "sort=activity&activity_before=1_",
    "sort=activity&activity_before=1_9999999999999999999",
    "sort=activity&activity_before=9999999999999999999_1", "sort=activity&sort=id",
    "sort=activity&take=101",
])
async def test_bad_list_parameters_are_refused(api: httpx.AsyncClient, people: People,
                                               query: str) -> None:
    (alice,) = await people(1)
    response = await call(api, "GET", f"/chats?{query}", alice)
    assert response.status_code == 400 and response.json()["code"] == 103, response.text
