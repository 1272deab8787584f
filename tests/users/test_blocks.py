"""Blocking: the blocked user cannot start a direct chat with, or add, whoever blocked them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pipechat.chats.models import Chat
from support import Account, LiveServer, count_rows, live_server, make_settings, register


async def post(api: httpx.AsyncClient, path: str, account: Account,
               body: Any) -> httpx.Response:
    return await api.post(path, json=body, headers=account.bearer)


async def test_block_list_and_unblock(api: httpx.AsyncClient) -> None:
    alice, bob, carol = await register(api), await register(api), await register(api)
    first = await post(api, "/users/me/blocks", alice, {"userId": bob.id})
    assert first.status_code == 201
    assert set(first.json()) == {"id", "nickname", "blockedAt"}
    assert first.json()["id"] == bob.id and first.json()["nickname"] == bob.nickname
    again = await post(api, "/users/me/blocks", alice, {"userId": bob.id})
    assert again.status_code == 200 and again.json() == first.json()
    await post(api, "/users/me/blocks", alice, {"userId": carol.id})
    listed = (await api.get("/users/me/blocks", headers=alice.bearer)).json()
    assert [u["id"] for u in listed["data"]] == [carol.id, bob.id]
    assert "email" not in listed["data"][0]
    assert (await api.get("/users/me/blocks", headers=bob.bearer)).json() == {"data": []}
    for _ in range(2):
        gone = await api.delete(f"/users/me/blocks/{bob.id}", headers=alice.bearer)
        assert gone.status_code == 204
    listed = (await api.get("/users/me/blocks", headers=alice.bearer)).json()
    assert [u["id"] for u in listed["data"]] == [carol.id]


@pytest.mark.parametrize("body,code", [({"userId": "self"}, 103), ({"userId": 99999}, 102),
                                       ({"userId": "2"}, 103), ({}, 103), ({"userId": 0}, 103),
                                       ({"userId": 2, "x": 1}, 103)])
async def test_bad_blocks_are_refused(api: httpx.AsyncClient, body: dict[str, Any],
                                      code: int) -> None:
    alice = await register(api)
    if body.get("userId") == "self":
        body = {"userId": alice.id}
    response = await post(api, "/users/me/blocks", alice, body)
    assert response.status_code == 400 and response.json()["code"] == code
    assert (await api.get("/users/me/blocks", headers=alice.bearer)).json() == {"data": []}


async def test_blocks_per_user_are_capped(tmp_path: Path, database_url: str) -> None:
    async with live_server(make_settings(database_url, tmp_path, blocks_per_user=2)) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=30) as api:
        alice, *others = [await register(api) for _ in range(4)]
        for other in others[:2]:
            assert (await post(api, "/users/me/blocks", alice,
                               {"userId": other.id})).status_code == 201
        full = await post(api, "/users/me/blocks", alice, {"userId": others[2].id})
        assert full.status_code == 400
        assert full.json()["code"] == 146 and full.json()["details"] == {"max": 2}
        # Blocking someone already blocked is no new block.
        assert (await post(api, "/users/me/blocks", alice,
                           {"userId": others[0].id})).status_code == 200


async def test_a_blocked_user_cannot_add_the_blocker(api: httpx.AsyncClient,
                                                     server: LiveServer) -> None:
    alice, bob, carol = await register(api), await register(api), await register(api)
    group = (await post(api, "/chats", bob, {"userIds": [carol.id]})).json()
    await post(api, "/users/me/blocks", alice, {"userId": bob.id})
    for body in ({"kind": "direct", "userIds": [alice.id]},
                 {"userIds": [carol.id, alice.id]}):
        refused = await post(api, "/chats", bob, body)
        assert refused.status_code == 403
        assert refused.json() == {"statusCode": 403, "message": "cannot add this user",
                                  "error": "Forbidden", "code": 143,
                                  "details": {"userIds": [alice.id]}}
    added = await post(api, f"/chats/{group['id']}/members", bob, {"userIds": [alice.id]})
    assert added.status_code == 403 and added.json()["code"] == 143
    assert await count_rows(server, Chat) == 1
    state = (await api.get(f"/chats/{group['id']}", headers=bob.bearer)).json()
    assert alice.id not in [u["id"] for u in state["users"]]
    # The blocker still may, and others may add alice to bob's group.
    mine = await post(api, "/chats", alice, {"kind": "direct", "userIds": [bob.id]})
    assert mine.status_code == 201
    # An existing chat is left as it is: asking for the pair's direct chat returns it.
    existing = await post(api, "/chats", bob, {"kind": "direct", "userIds": [alice.id]})
    assert existing.status_code == 200 and existing.json()["id"] == mine.json()["id"]
    await api.delete(f"/users/me/blocks/{bob.id}", headers=alice.bearer)
    assert (await post(api, f"/chats/{group['id']}/members", bob,
                       {"userIds": [alice.id]})).status_code == 200


async def test_block_routes_need_an_access_token(api: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/users/me/blocks"), ("POST", "/users/me/blocks"),
                         ("DELETE", "/users/me/blocks/1")):
        response = await api.request(method, path, json={"userId": 1})
        assert response.status_code == 401 and response.json()["code"] == 110
