"""`/chats` over REST: creation, reading, access rules and the pagination contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from pipechat.chats.models import Chat
from support import (
    Account,
    LiveServer,
    count_rows,
    create_chat,
    live_server,
    make_settings,
    register,
)

USER_KEYS = {"id", "nickname", "role", "createdAt", "updatedAt", "chatRole",
             "lastReadMessageId", "online", "lastSeenAt"}  # never the email


async def walk(api: httpx.AsyncClient, url: str, account: Account) -> list[dict[str, Any]]:
    """Follow `next` from `url` until it is null; every page but the last must be full."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        response = await api.get(next_url, headers=account.bearer)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"data", "cursor", "count", "next"}
        assert page["count"] == len(page["data"])
        pages.append(page)
        next_url = page["next"]
        assert len(pages) < 50
    return pages


async def test_create_chat_adds_the_caller_and_hides_passwords(api: httpx.AsyncClient) -> None:
    owner, friend = await register(api), await register(api)
    chat = await create_chat(api, owner, friend, friend)
    assert {"id", "createdAt", "updatedAt", "users", "seq", "kind", "name"} <= set(chat)
    assert [user["id"] for user in chat["users"]] == sorted([owner.id, friend.id])
    assert all(set(user) == USER_KEYS for user in chat["users"])
    assert chat["createdAt"].endswith("Z")


async def test_create_chat_publishes_chat_created_to_every_member(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    owner, friend = await register(api), await register(api)
    seen: list[tuple[str, Any, list[int]]] = []

    async def record(event: str, data: Any, user_ids: list[int]) -> None:
        # Runs after commit: the chat must already be readable by a member.
        readable = await api.get(f"/chats/{data['id']}", headers=friend.bearer)
        seen.append((event, data, user_ids))
        assert readable.status_code == 200

    server.context.publish_to_users = record
    chat = await create_chat(api, owner, friend)
    assert seen == [("chat_created", chat, sorted([owner.id, friend.id]))]


@pytest.mark.parametrize("body,needle", [
    ({"userIds": ["2"]}, "userIds.0"),
    ({"userIds": [0]}, "userIds.0"),
    ({"userIds": 3}, "userIds"),
    ({}, "userIds"),
    ({"userIds": [], "title": "x"}, "title"),
    ({"userIds": [], "name": " "}, "name"),
    ({"userIds": [], "kind": "channel"}, "kind"),
    ({"userIds": [2**63]}, "userIds.0"),
])
async def test_create_chat_rejects_malformed_bodies(api: httpx.AsyncClient, server: LiveServer,
                                                     body: dict[str, Any], needle: str) -> None:
    owner = await register(api)
    response = await api.post("/chats", json=body, headers=owner.bearer)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == 103 and any(needle in line for line in error["message"])
    assert await count_rows(server, Chat) == 0


async def test_create_chat_with_unknown_users_changes_nothing(api: httpx.AsyncClient,
                                                              server: LiveServer) -> None:
    owner = await register(api)
    response = await api.post("/chats", json={"userIds": [owner.id + 1000]},
                              headers=owner.bearer)
    assert response.status_code == 400
    assert response.json()["code"] == 102 and str(owner.id + 1000) in response.json()["message"]
    assert await count_rows(server, Chat) == 0


@pytest.mark.parametrize("others", [[], ["self"], ["self", "self"]])
async def test_a_chat_with_only_yourself_is_refused(api: httpx.AsyncClient, server: LiveServer,
                                                    others: list[str]) -> None:
    owner = await register(api)
    user_ids = [owner.id for _ in others]
    response = await api.post("/chats", json={"userIds": user_ids}, headers=owner.bearer)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == 103 and error["details"] == {"fields": ["userIds"]}
    assert "besides yourself" in error["message"]
    assert await count_rows(server, Chat) == 0


@pytest.mark.parametrize("method,path", [("GET", "/chats"), ("POST", "/chats"),
                                         ("GET", "/chats/1")])
async def test_chat_routes_need_an_access_token(api: httpx.AsyncClient, method: str,
                                                path: str) -> None:
    account = await register(api)
    for headers in ({}, {"Authorization": f"Bearer {account.refresh_token}"}):
        response = await api.request(method, path, json={"userIds": []}, headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] in {110, 112}


async def test_read_chat_member_missing_and_stranger(api: httpx.AsyncClient) -> None:
    owner, friend, stranger = await register(api), await register(api), await register(api)
    chat = await create_chat(api, owner, friend)
    mine = await api.get(f"/chats/{chat['id']}", headers=friend.bearer)
    # The chat as created, plus what only this member sees.
    assert mine.status_code == 200
    assert mine.json() == {**chat, "unreadCount": 0, "lastReadMessageId": None, "hidden": False}
    missing = await api.get(f"/chats/{chat['id'] + 1}", headers=owner.bearer)
    assert missing.status_code == 404 and missing.json()["code"] == 100
    forbidden = await api.get(f"/chats/{chat['id']}", headers=stranger.bearer)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == 101
    for bad in ("x", "0", "-1", str(2**63)):
        response = await api.get(f"/chats/{bad}", headers=owner.bearer)
        assert response.status_code == 400 and response.json()["code"] == 103
        assert "path.cid" in response.json()["message"][0]


async def test_list_chats_shows_only_the_callers_chats(api: httpx.AsyncClient) -> None:
    owner, friend, stranger = await register(api), await register(api), await register(api)
    shared = await create_chat(api, owner, friend)
    await create_chat(api, stranger, friend)
    own = await create_chat(api, owner)
    response = await api.get("/chats", headers=owner.bearer)
    assert response.status_code == 200
    mine = {"unreadCount": 0, "lastReadMessageId": None, "hidden": False}
    assert response.json() == {"data": [{**shared, **mine}, {**own, **mine}],
                               "cursor": {"after": None}, "count": 2, "next": None}


async def test_following_next_yields_every_chat_once_in_both_orders(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    owner = await register(api)
    ids = [(await create_chat(api, owner))["id"] for _ in range(5)]
    ascending = await walk(api, "/chats?take=2", owner)
    assert [c["id"] for page in ascending for c in page["data"]] == ids
    assert [page["cursor"]["after"] for page in ascending] == [ids[1], ids[3], None]
    first_next = urlsplit(ascending[0]["next"])
    assert f"{first_next.scheme}://{first_next.netloc}" == server.url
    assert first_next.path == "/chats"
    assert parse_qsl(first_next.query) == [("take", "2"), ("where__id__more_than", str(ids[1]))]
    descending = await walk(api, "/chats?order__createdAt=DESC&take=5", owner)
    assert [c["id"] for page in descending for c in page["data"]] == ids[::-1]
    # A full last page still links on; the page after it is empty and ends the walk.
    assert [page["count"] for page in descending] == [5, 0]
    assert parse_qsl(urlsplit(descending[0]["next"]).query)[-1] == (
        "where__id__less_than", str(ids[0]))


async def test_next_replaces_the_cursor_and_keeps_the_other_bound(
        api: httpx.AsyncClient) -> None:
    owner = await register(api)
    ids = [(await create_chat(api, owner))["id"] for _ in range(6)]
    url = f"/chats?where__id__more_than={ids[0]}&take=2&where__id__less_than={ids[5]}"
    pages = await walk(api, url, owner)
    assert [c["id"] for page in pages for c in page["data"]] == ids[1:5]
    assert parse_qsl(urlsplit(pages[0]["next"]).query) == [
        ("take", "2"), ("where__id__less_than", str(ids[5])),
        ("where__id__more_than", str(ids[2]))]


async def test_page_mode_counts_the_filtered_total(api: httpx.AsyncClient) -> None:
    owner = await register(api)
    ids = [(await create_chat(api, owner))["id"] for _ in range(5)]
    second = await api.get("/chats?page=2&take=2", headers=owner.bearer)
    assert second.status_code == 200
    assert set(second.json()) == {"data", "total"}
    assert [c["id"] for c in second.json()["data"]] == ids[2:4]
    assert second.json()["total"] == 5
    filtered = await api.get(f"/chats?page=1&take=2&order__createdAt=DESC"
                             f"&where__id__less_than={ids[3]}", headers=owner.bearer)
    assert [c["id"] for c in filtered.json()["data"]] == [ids[2], ids[1]]
    assert filtered.json()["total"] == 3
    beyond = await api.get("/chats?page=9", headers=owner.bearer)
    assert beyond.json() == {"data": [], "total": 5}


@pytest.mark.parametrize("query,names", [
    ("take=abc", ["query.take"]),
    ("take=0", ["query.take"]),
    ("take=101", ["query.take"]),
    ("take=", ["query.take"]),
    ("page=0", ["query.page"]),
    ("page=1.5", ["query.page"]),
    ("where__id__more_than=-1", ["query.where__id__more_than"]),
    ("where__id__less_than=9223372036854775808", ["query.where__id__less_than"]),
    ("order__createdAt=asc", ["query.order__createdAt"]),
    ("cursor=3&limit=2", ["query.cursor", "query.limit"]),
    ("take=1&take=2", ["query.take"]),
])
async def test_bad_query_parameters_are_named(api: httpx.AsyncClient, query: str,
                                              names: list[str]) -> None:
    owner = await register(api)
    response = await api.get(f"/chats?{query}", headers=owner.bearer)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == 103 and error["error"] == "Bad Request"
    assert sorted(line.split(":")[0] for line in error["message"]) == names


async def test_public_base_url_and_page_size_cap_come_from_settings(
        database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, page_size_max=3,
                             public_base_url="https://chat.example.com/")
    async with live_server(settings) as running, httpx.AsyncClient(base_url=running.url) as api:
        owner = await register(api)
        for _ in range(3):
            await create_chat(api, owner)
        page = await api.get("/chats?take=3", headers=owner.bearer)
        assert page.status_code == 200
        assert page.json()["next"].startswith("https://chat.example.com/chats?take=3&")
        over = await api.get("/chats?take=4", headers=owner.bearer)
        assert over.status_code == 400
        assert over.json()["message"] == ["query.take: Input should be less than or equal to 3"]
