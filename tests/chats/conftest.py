"""Helpers for chat-management tests: a group of several users, each with a socket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from realtime.peers import Peer
from support import Account, LiveServer, register


@dataclass
class Person:
    """A registered user with one socket, entered in nothing yet."""

    account: Account
    socket: Peer

    @property
    def id(self) -> int:
        return self.account.id


People = Callable[[int], Awaitable[list[Person]]]


@pytest.fixture
async def people(api: httpx.AsyncClient, server: LiveServer) -> AsyncIterator[People]:
    """`await people(n)`: n registered users, each with a connected socket."""
    made: list[Person] = []

    async def _people(count: int) -> list[Person]:
        batch = [Person(await register(api), Peer()) for _ in range(count)]
        for person in batch:
            await person.socket.connect(server.url, person.account.access_token)
        made.extend(batch)
        return batch

    yield _people
    for person in made:
        await person.socket.close()


async def make_group(api: httpx.AsyncClient, owner: Person, *others: Person,
                     name: str = "Team") -> dict[str, Any]:
    """A group of `owner` and `others` over REST; every socket's `chat_created` is taken."""
    response = await api.post("/chats", json={"name": name, "userIds": [o.id for o in others]},
                              headers=owner.account.bearer)
    assert response.status_code == 201, response.text
    chat: dict[str, Any] = response.json()
    for person in (owner, *others):
        assert (await person.socket.next("chat_created"))["id"] == chat["id"]
    return chat


async def call(api: httpx.AsyncClient, method: str, url: str, person: Person,
               body: Any = None) -> httpx.Response:
    """A REST call as `person`."""
    return await api.request(method, url, json=body, headers=person.account.bearer)
