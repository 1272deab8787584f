"""`GET /chats/{cid}/messages`: shapes, members-only access, id filters and pagination."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from support import Account, Send, create_chat, register

MESSAGE_KEYS = {"id", "chatId", "message", "clientMessageId", "author", "createdAt", "seq",
                "updatedAt", "chat", "editedAt", "deletedAt", "replyTo", "reactions"}


async def get(api: httpx.AsyncClient, url: str, account: Account) -> dict[str, Any]:
    response = await api.get(url, headers=account.bearer)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def walk_ids(api: httpx.AsyncClient, url: str, account: Account) -> list[int]:
    """Every message id met while following `next` from `url`."""
    ids: list[int] = []
    next_url: str | None = url
    while next_url is not None:
        page = await get(api, next_url, account)
        assert page["count"] == len(page["data"])
        ids.extend(message["id"] for message in page["data"])
        next_url = page["next"]
        assert len(ids) < 1000
    return ids


async def test_each_message_has_author_and_chat(api: httpx.AsyncClient, send: Send) -> None:
    owner, friend = await register(api), await register(api)
    chat = await create_chat(api, owner, friend)
    saved = await send(chat["id"], friend, ["hello", "안녕하세요"])
    page = await get(api, f"/chats/{chat['id']}/messages", owner)
    assert page["count"] == 2 and page["cursor"] == {"after": None} and page["next"] is None
    first = page["data"][0]
    assert set(first) == MESSAGE_KEYS
    assert first["id"] == saved[0].id and first["chatId"] == chat["id"]
    assert first["message"] == "hello" and first["clientMessageId"] is None
    assert first["author"] == {"id": friend.id, "nickname": friend.nickname}
    assert first["chat"] == {key: chat[key] for key in ("id", "createdAt", "updatedAt")}
    assert first["createdAt"].endswith("Z") and first["updatedAt"].endswith("Z")
    assert page["data"][1]["message"] == "안녕하세요"


async def test_only_the_chats_own_messages_are_listed(api: httpx.AsyncClient,
                                                      send: Send) -> None:
    owner = await register(api)
    chat, other = await create_chat(api, owner), await create_chat(api, owner)
    mine = await send(chat["id"], owner, ["a", "b"])
    await send(other["id"], owner, ["elsewhere"])
    page = await get(api, f"/chats/{chat['id']}/messages", owner)
    assert [m["id"] for m in page["data"]] == [m.id for m in mine]


async def test_members_only(api: httpx.AsyncClient, send: Send) -> None:
    owner, stranger = await register(api), await register(api)
    chat = await create_chat(api, owner)
    await send(chat["id"], owner, ["private"])
    forbidden = await api.get(f"/chats/{chat['id']}/messages", headers=stranger.bearer)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == 101
    missing = await api.get(f"/chats/{chat['id'] + 1}/messages", headers=owner.bearer)
    assert missing.status_code == 404 and missing.json()["code"] == 100
    anonymous = await api.get(f"/chats/{chat['id']}/messages")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == 110
    malformed = await api.get("/chats/abc/messages", headers=owner.bearer)
    assert malformed.status_code == 400 and malformed.json()["code"] == 103


async def test_following_next_pages_through_history(api: httpx.AsyncClient,
                                                    send: Send) -> None:
    owner = await register(api)
    chat = await create_chat(api, owner)
    ids = [m.id for m in await send(chat["id"], owner, [f"m{i}" for i in range(10)])]
    base = f"/chats/{chat['id']}/messages"
    assert await walk_ids(api, f"{base}?take=3", owner) == ids
    assert await walk_ids(api, f"{base}?take=3&order__createdAt=DESC", owner) == ids[::-1]
    assert await walk_ids(api, f"{base}?take=5", owner) == ids  # full last page, then empty
    first = await get(api, f"{base}?take=3&order__createdAt=DESC", owner)
    link = urlsplit(first["next"])
    assert link.scheme == "http" and link.path == base
    assert parse_qsl(link.query) == [("take", "3"), ("order__createdAt", "DESC"),
                                     ("where__id__less_than", str(ids[7]))]
    assert first["cursor"] == {"after": ids[7]}


@pytest.mark.parametrize("order", ["ASC", "DESC"])
async def test_id_filters_apply_in_both_modes(api: httpx.AsyncClient, send: Send,
                                              order: str) -> None:
    owner = await register(api)
    chat = await create_chat(api, owner)
    ids = [m.id for m in await send(chat["id"], owner, [f"m{i}" for i in range(8)])]
    window = ids[2:6]
    expected = window if order == "ASC" else window[::-1]
    query = (f"order__createdAt={order}&where__id__more_than={ids[1]}"
             f"&where__id__less_than={ids[6]}")
    base = f"/chats/{chat['id']}/messages?{query}"
    assert await walk_ids(api, f"{base}&take=3", owner) == expected
    first_page = await get(api, f"{base}&take=3&page=1", owner)
    assert [m["id"] for m in first_page["data"]] == expected[:3]
    assert first_page["total"] == 4
    second_page = await get(api, f"{base}&take=3&page=2", owner)
    assert [m["id"] for m in second_page["data"]] == expected[3:]
    assert second_page["total"] == 4


async def test_catching_up_returns_only_newer_messages(api: httpx.AsyncClient,
                                                       send: Send) -> None:
    owner, friend = await register(api), await register(api)
    chat = await create_chat(api, owner, friend)
    seen = [m.id for m in await send(chat["id"], owner, ["one", "two"])]
    newer = [m.id for m in await send(chat["id"], friend, ["three", "four", "five"])]
    page = await get(api, f"/chats/{chat['id']}/messages?where__id__more_than={seen[-1]}",
                     friend)
    assert [m["id"] for m in page["data"]] == newer
    nothing = await get(api, f"/chats/{chat['id']}/messages?where__id__more_than={newer[-1]}",
                        friend)
    assert nothing == {"data": [], "cursor": {"after": None}, "count": 0, "next": None}


@pytest.mark.parametrize("query,name", [
    ("take=1000", "query.take"),
    ("take=-3", "query.take"),
    ("where__id__more_than=abc", "query.where__id__more_than"),
    ("where__id__less_than=1e3", "query.where__id__less_than"),
    ("order__createdAt=UP", "query.order__createdAt"),
    ("after=4", "query.after"),
    ("page=1&page=2", "query.page"),
])
async def test_bad_parameters_are_refused_before_reading(api: httpx.AsyncClient,
                                                         query: str, name: str) -> None:
    owner = await register(api)
    chat = await create_chat(api, owner)
    response = await api.get(f"/chats/{chat['id']}/messages?{query}", headers=owner.bearer)
    assert response.status_code == 400
    assert response.json()["code"] == 103
    assert [line.split(":")[0] for line in response.json()["message"]] == [name]
