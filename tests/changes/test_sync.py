"""`GET /sync`: the caller's changed chats since a token, their state and their new changes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from support import Send, create_chat, live_server, make_settings, register

from .conftest import sync, sync_pages


async def test_first_sync_reports_every_chat_then_nothing_until_a_change(
        api: httpx.AsyncClient, send: Send) -> None:
    alice, bob = await register(api), await register(api)
    first = await create_chat(api, alice, bob)
    second = await create_chat(api, bob)  # alice is not in it
    await send(first["id"], bob, ["hi"])
    chats, token = await sync(api, alice)
    assert list(chats) == [first["id"]]
    reported = chats[first["id"]]
    assert reported["seq"] == 2 and reported["limited"] is False
    assert reported["chat"]["id"] == first["id"] and reported["chat"]["seq"] == 2
    assert [c["kind"] for c in reported["changes"]] == ["chat_created", "message"]
    assert reported["changes"][1]["data"]["message"] == "hi"

    assert (await sync(api, alice, token))[0] == {}
    await send(second["id"], bob, ["elsewhere"])
    assert (await sync(api, alice, token))[0] == {}
    await send(first["id"], alice, ["back"])
    chats, newer = await sync(api, alice, token)
    assert list(chats) == [first["id"]]
    assert [(c["seq"], c["data"]["message"]) for c in chats[first["id"]]["changes"]] == [
        (3, "back")]
    assert (await sync(api, alice, newer))[0] == {}


async def test_a_chat_someone_else_creates_with_me_is_reported(api: httpx.AsyncClient) -> None:
    alice, bob = await register(api), await register(api)
    _, token = await sync(api, alice)
    chat = await create_chat(api, bob, alice)
    chats, _ = await sync(api, alice, token)
    assert list(chats) == [chat["id"]]
    assert [c["kind"] for c in chats[chat["id"]]["changes"]] == ["chat_created"]
    assert {u["id"] for u in chats[chat["id"]]["chat"]["users"]} == {alice.id, bob.id}


async def test_pages_follow_chat_ids_and_share_the_first_pages_token(
        api: httpx.AsyncClient, send: Send) -> None:
    alice = await register(api)
    made = [await create_chat(api, alice) for _ in range(5)]
    _, token = await sync(api, alice)
    for chat in made:
        await send(chat["id"], alice, ["x"])
    pages = await sync_pages(api, alice, token, take=2)
    assert [page["count"] for page in pages] == [2, 2, 1]
    assert [c["chatId"] for page in pages for c in page["data"]] == [c["id"] for c in made]
    assert len({page["since"] for page in pages}) == 1
    assert "next_since=" in pages[0]["next"] and "after=" in pages[0]["next"]


async def test_a_long_absence_is_limited_to_the_newest_changes(tmp_path: Path,
                                                               database_url: str) -> None:
    settings = make_settings(database_url, tmp_path, sync_changes_max=3)
    async with live_server(settings) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=30) as api:
        alice = await register(api)
        chat = await create_chat(api, alice)
        _, token = await sync(api, alice)
        writer = server.context.message_writer
        assert writer is not None
        for i in range(5):
            await writer.submit(chat["id"], alice.id, alice.nickname, f"m{i}", None)
        chats, _ = await sync(api, alice, token)
        reported = chats[chat["id"]]
        assert reported["limited"] is True and reported["seq"] == 6
        assert [c["seq"] for c in reported["changes"]] == [4, 5, 6]
        exact, _ = await sync(api, alice)
        assert exact[chat["id"]]["limited"] is True  # 6 changes since the beginning


@pytest.mark.parametrize("query", [
    "since=abc", "since=", "since=5.7", "since=9.3.2", "since=9.3.3", "since=1-2",
    "since=99999999999999999999", "next_since=x", "after=-1", "take=0", "take=101",
    "since=1&since=2", "limit=3",
])
async def test_bad_parameters_are_refused(api: httpx.AsyncClient, query: str) -> None:
    alice = await register(api)
    response = await api.get(f"/sync?{query}", headers=alice.bearer)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 103


async def test_sync_needs_a_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/sync")
    assert response.status_code == 401 and response.json()["code"] == 110
