"""Fixtures for gateway tests: registered users and sockets closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from realtime.peers import Peer
from support import Account, LiveServer, register

Connect = Callable[..., Awaitable[Peer]]


@pytest.fixture
async def accounts(api: httpx.AsyncClient) -> list[Account]:
    """Three registered users, as in the seed's scenario."""
    return [await register(api) for _ in range(3)]


@pytest.fixture
async def connect(server: LiveServer) -> AsyncIterator[Connect]:
    """Connect a socket for an account (websocket unless `transports` says otherwise)."""
    peers: list[Peer] = []

    async def _connect(account: Account, transports: list[str] | None = None) -> Peer:
        peer = Peer(transports)
        peers.append(peer)
        return await peer.connect(server.url, account.access_token)

    yield _connect
    for peer in peers:
        await peer.close()
