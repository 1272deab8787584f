"""Authentication at connect: accepted tokens, and every refusal with its code."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
import socketio
from sqlalchemy import delete

from pipechat.users.models import User
from realtime.peers import Peer
from support import TEST_SECRET, LiveServer, register


def forged(sub: object, kind: str, exp_offset: int) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "type": kind, "sid": "1", "jti": "forged", "iat": now,
                       "exp": now + exp_offset}, TEST_SECRET, algorithm="HS256")


async def refused(server: LiveServer, **how: object) -> dict[str, object]:
    """Try to connect; return the `connect_error` data after checking the refusal."""
    peer = Peer()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(server.url, **how)  # type: ignore[arg-type]
    error = await peer.next("connect_error")
    assert not peer.client.connected
    await peer.close()
    assert isinstance(error, dict) and isinstance(error["data"], dict), error
    assert error["message"] == error["data"]["message"]
    return error["data"]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_auth_token_and_bearer_header_are_accepted(api: httpx.AsyncClient,
                                                         server: LiveServer,
                                                         transport: str) -> None:
    account = await register(api)
    by_auth = await Peer([transport]).connect(server.url, account.access_token)
    by_header = await Peer([transport]).connect(server.url, headers=account.bearer)
    try:
        assert by_auth.client.connected and by_header.client.connected
        # Both sockets joined the user's private room: both hear about a new chat.
        ack = await by_auth.call("create_chat", {"userIds": [(await register(api)).id]})
        assert ack["status"] == "ok"
        assert (await by_header.next("chat_created"))["id"] == ack["data"]["id"]
    finally:
        await by_auth.close()
        await by_header.close()


@pytest.mark.parametrize("how,code", [
    ({}, 110),
    ({"token": "not-a-jwt"}, 110),
    ({"auth": {"token": 42}}, 110),
    ({"auth": "a string"}, 110),
    ({"headers": {"Authorization": "Basic abc"}}, 110),
    ({"headers": {"Authorization": "Bearer"}}, 110),
])
async def test_missing_or_malformed_credentials_are_refused(
        server: LiveServer, how: dict[str, object], code: int) -> None:
    assert (await refused(server, **how))["code"] == code


async def test_forged_expired_refresh_and_orphan_tokens_are_refused(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    account = await register(api)
    assert (await refused(server, token=forged(str(account.id), "access", -10)))["code"] == 111
    assert (await refused(server, token=account.refresh_token))["code"] == 112
    wrong_key = jwt.encode({"sub": str(account.id), "type": "access",
                            "exp": int(time.time()) + 60}, "k" * 40, algorithm="HS256")
    assert (await refused(server, token=wrong_key))["code"] == 110
    assert (await refused(server, token=forged("abc", "access", 60)))["code"] == 110
    async with server.context.db.write() as session:
        await session.execute(delete(User).where(User.id == account.id))
    error = await refused(server, token=account.access_token)
    assert error["code"] == 110 and "no longer exists" in str(error["message"])
