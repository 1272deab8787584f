"""Chats created per user are limited (105, 429, Retry-After), on both databases."""

from __future__ import annotations

from pathlib import Path

import httpx

from pipechat.chats.models import Chat
from support import count_rows, live_server, make_settings, register

WINDOW = 600


async def test_chat_creation_is_limited_per_user(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, chats_per_user=3,
                             chats_window_seconds=WINDOW)
    async with (live_server(settings) as server,
                httpx.AsyncClient(base_url=server.url, timeout=30) as api):
        spammer, victim, other = [await register(api) for _ in range(3)]
        for _ in range(3):
            made = await api.post("/chats", json={"userIds": [victim.id]},
                                  headers=spammer.bearer)
            assert made.status_code == 201, made.text
        refused = await api.post("/chats", json={"userIds": [victim.id]},
                                 headers=spammer.bearer)
        assert refused.status_code == 429, refused.text
        body = refused.json()
        assert body["code"] == 105 and body["statusCode"] == 429
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= WINDOW and body["details"] == {"retryAfter": retry_after}
        assert await count_rows(server, Chat) == 3  # nothing created
        # Another user's budget is their own.
        theirs = await api.post("/chats", json={"userIds": [victim.id]}, headers=other.bearer)
        assert theirs.status_code == 201, theirs.text
