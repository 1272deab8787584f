"""Sockets end with their access token (unless `authenticate` renews it) and with their session."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import socketio
from sqlalchemy import delete

from pipechat.users.models import User
from realtime.peers import Peer
from support import (
    PASSWORD,
    TEST_SECRET,
    Account,
    LiveServer,
    basic,
    live_server,
    make_settings,
    register,
)

ACCESS_TTL = 6  # seconds: long enough to renew in time on a busy machine, short to wait out


def expiry(token: str) -> int:
    return int(jwt.decode(token, TEST_SECRET, algorithms=["HS256"],
                          options={"verify_exp": False})["exp"])


async def wait_until(moment: float) -> None:
    """Sleep until the wall clock (the one JWT expiries use) reaches `moment`."""
    await asyncio.sleep(max(0.0, moment - time.time()))


async def fresh_access(api: httpx.AsyncClient, account: Account) -> str:
    response = await api.post("/auth/token/access",
                              headers={"Authorization": f"Bearer {account.refresh_token}"})
    assert response.status_code == 200, response.text
    token: str = response.json()["accessToken"]
    return token


async def ended(peer: Peer, code: int) -> None:
    """The socket was told why (`exception` with `code`), then disconnected by the server."""
    error = await peer.next("exception")
    assert error["status"] == "error" and error["code"] == code, error
    await peer.next("disconnect")
    assert not peer.client.connected


async def alive(peer: Peer) -> None:
    ack = await peer.call("leave_chat", {"chatIds": [1]})
    assert ack["status"] == "ok", ack
    assert peer.backlog("exception") == 0 and peer.client.connected


@pytest.fixture
async def short_lived(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A live server whose access tokens last `ACCESS_TTL` seconds."""
    settings = make_settings(database_url, tmp_path, access_token_ttl_seconds=ACCESS_TTL)
    async with live_server(settings) as running:
        yield running


@pytest.fixture
async def short_api(short_lived: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=short_lived.url, timeout=30) as client:
        yield client


@pytest.fixture
async def peers() -> AsyncIterator[list[Peer]]:
    made: list[Peer] = []
    yield made
    for peer in made:
        await peer.close()


async def connect(peers: list[Peer], url: str, token: str,
                  transports: list[str] | None = None) -> Peer:
    peers.append(await Peer(transports).connect(url, token))
    return peers[-1]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_socket_is_disconnected_with_111_when_its_token_expires(
        short_lived: LiveServer, short_api: httpx.AsyncClient, peers: list[Peer],
        transport: str) -> None:
    account = await register(short_api)
    peer = await connect(peers, short_lived.url, account.access_token, [transport])
    await ended(peer, 111)
    assert time.time() >= expiry(account.access_token)


async def test_authenticate_keeps_the_socket_alive_until_the_new_expiry(
        short_lived: LiveServer, short_api: httpx.AsyncClient, peers: list[Peer]) -> None:
    account = await register(short_api)
    peer = await connect(peers, short_lived.url, account.access_token)
    first_expiry = expiry(account.access_token)
    await wait_until(first_expiry - ACCESS_TTL + 1.5)  # a later second: a later expiry
    token = await fresh_access(short_api, account)
    ack = await peer.call("authenticate", {"token": token})
    assert ack["status"] == "ok", ack
    assert set(ack["data"]) == {"expiresAt"} and ack["data"]["expiresAt"].endswith("Z")
    new_expiry = datetime.fromisoformat(ack["data"]["expiresAt"]).timestamp()
    assert new_expiry == expiry(token) > first_expiry

    await wait_until(first_expiry + 0.5)
    await alive(peer)  # past the first token's expiry, still open and usable
    await ended(peer, 111)  # nobody renewed it again
    assert time.time() >= new_expiry


async def test_authenticate_refuses_foreign_refresh_garbage_and_revoked_tokens(
        api: httpx.AsyncClient, server: LiveServer, peers: list[Peer]) -> None:
    alice, bob = await register(api), await register(api)
    peer = await connect(peers, server.url, alice.access_token)
    forged = jwt.encode({"sub": str(alice.id), "type": "access", "sid": "1", "jti": "x",
                         "exp": int(time.time()) + 60}, "another-secret-" + "y" * 40,
                        algorithm="HS256")
    other_session = (await api.post("/auth/login/email", headers=basic(alice.email, PASSWORD)
                                    )).json()
    revoked = {"Authorization": f"Bearer {other_session['accessToken']}"}
    assert (await api.post("/auth/logout", headers=revoked)).status_code == 204
    cases: list[tuple[Any, int]] = [
        ({"token": bob.access_token}, 116),
        ({"token": alice.refresh_token}, 112),
        ({"token": "garbage"}, 110),
        ({"token": forged}, 110),
        ({"token": other_session["accessToken"]}, 114),
        ({"token": ""}, 103),
        ({"token": 42}, 103),
        ({}, 103),
        ("a string", 103),
    ]
    for payload, code in cases:
        ack = await peer.call("authenticate", payload)
        assert ack["status"] == "error" and ack["code"] == code, (payload, ack)
    # Without an ack callback the refusal comes as `exception`; the socket stays usable.
    await peer.emit("authenticate", {"token": bob.access_token})
    assert (await peer.next("exception"))["code"] == 116
    await alive(peer)


async def test_a_deleted_users_socket_cannot_renew_and_ends_at_expiry(
        short_lived: LiveServer, short_api: httpx.AsyncClient, peers: list[Peer]) -> None:
    account = await register(short_api)
    peer = await connect(peers, short_lived.url, account.access_token)
    async with short_lived.context.db.write() as session:
        await session.execute(delete(User).where(User.id == account.id))
    ack = await peer.call("authenticate", {"token": account.access_token})
    assert ack["status"] == "error" and ack["code"] == 110, ack
    await ended(peer, 111)


async def test_logout_disconnects_the_sessions_sockets_and_refuses_reconnects(
        api: httpx.AsyncClient, server: LiveServer, peers: list[Peer]) -> None:
    alice = await register(api)
    other = (await api.post("/auth/login/email", headers=basic(alice.email, PASSWORD))).json()
    by_websocket = await connect(peers, server.url, alice.access_token)
    by_polling = await connect(peers, server.url, alice.access_token, ["polling"])
    other_socket = await connect(peers, server.url, other["accessToken"])

    response = await api.post("/auth/logout", headers=alice.bearer)
    assert response.status_code == 204
    await ended(by_websocket, 114)
    await ended(by_polling, 114)
    await alive(other_socket)  # another session of the same user
    refused = Peer()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(server.url, alice.access_token)
    assert (await refused.next("connect_error"))["data"]["code"] == 114
    await refused.close()


async def test_a_reused_refresh_token_disconnects_the_sessions_sockets(
        api: httpx.AsyncClient, server: LiveServer, peers: list[Peer]) -> None:
    alice = await register(api)
    peer = await connect(peers, server.url, alice.access_token)
    old = {"Authorization": f"Bearer {alice.refresh_token}"}
    assert (await api.post("/auth/token/refresh", headers=old)).status_code == 200
    reused = await api.post("/auth/token/refresh", headers=old)
    assert reused.status_code == 401 and reused.json()["code"] == 115
    await ended(peer, 114)
