"""Helpers for change-log tests: sync pages walked (messages are saved by the root `send`)."""

from __future__ import annotations

from typing import Any

import httpx

from support import Account


async def sync_pages(api: httpx.AsyncClient, account: Account, since: str | None = None,
                     take: int | None = None) -> list[dict[str, Any]]:
    """Every page of one sync, following `next` until it is null."""
    params: dict[str, Any] = {}
    if since is not None:
        params["since"] = since
    if take is not None:
        params["take"] = take
    response = await api.get("/sync", params=params, headers=account.bearer)
    pages = []
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"data", "count", "next", "since"}
        assert page["count"] == len(page["data"])
        pages.append(page)
        if page["next"] is None:
            return pages
        assert len(pages) < 100
        response = await api.get(page["next"], headers=account.bearer)


async def sync(api: httpx.AsyncClient, account: Account,
               since: str | None = None) -> tuple[dict[int, dict[str, Any]], str]:
    """One whole sync: the chats reported by id, and the token for the next one."""
    pages = await sync_pages(api, account, since)
    chats = {chat["chatId"]: chat for page in pages for chat in page["data"]}
    assert len(chats) == sum(page["count"] for page in pages)  # no chat twice
    return chats, pages[0]["since"]
