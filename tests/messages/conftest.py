"""Helpers for history tests: chats made over REST, messages saved by the real writer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from pipechat.messages.writer import MessageWriter, SavedMessage
from support import Account, LiveServer

Send = Callable[[int, Account, list[str]], Awaitable[list[SavedMessage]]]


@pytest.fixture
async def send(server: LiveServer) -> AsyncIterator[Send]:
    """Save messages through `MessageWriter`, the path `send_message` uses."""
    writer = MessageWriter(server.context.db)
    writer.start()

    async def _send(chat_id: int, author: Account, texts: list[str]) -> list[SavedMessage]:
        futures = [writer.submit(chat_id, author.id, author.nickname, text, None)
                   for text in texts]
        return list(await asyncio.gather(*futures))

    yield _send
    await writer.stop()
