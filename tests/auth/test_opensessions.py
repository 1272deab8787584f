"""`OpenSessions`: the connect check of a token's session, remembered and looked up in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, event

from pipechat.auth.opensessions import OpenSessions
from pipechat.auth.service import TokenClaims
from pipechat.errors import ChatError
from pipechat.users.models import User
from support import Account, LiveServer, register


def fresh(server: LiveServer, ttl_seconds: float = 60) -> OpenSessions:
    return OpenSessions(server.context.db, max_entries=100, ttl_seconds=ttl_seconds)


def claims_of(server: LiveServer, account: Account) -> TokenClaims:
    return server.context.tokens.check_token(account.access_token, "access")


@contextmanager
def counted_queries(server: LiveServer) -> Iterator[list[str]]:
    """The statements the read engine runs inside the block (the real database's)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "sessions" in statement:
            statements.append(statement)

    engine = server.context.db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def code_of(work: Any) -> int:
    with pytest.raises(ChatError) as refused:
        await work
    return int(refused.value.code)


async def test_a_storm_of_connects_is_one_query_and_then_none(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    accounts = [await register(api) for _ in range(5)]
    sessions = fresh(server)
    wanted = [claims_of(server, account) for account in accounts for _ in range(3)]
    with counted_queries(server) as statements:
        users = await asyncio.gather(*(sessions.access_user(c) for c in wanted))
        assert len(statements) == 1  # 15 connects of 5 sessions, checked together
        assert [(u.id, u.nickname) for u in users] == [
            (a.id, a.nickname) for a in accounts for _ in range(3)]
        # One object per session, shared by its sockets.
        assert users[0] is users[1] is users[2]
        again = await sessions.access_user(wanted[0])
        assert again is users[0] and len(statements) == 1


async def test_without_a_cache_time_every_connect_asks_the_database(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    account = await register(api)
    sessions = fresh(server, ttl_seconds=0)
    with counted_queries(server) as statements:
        await sessions.access_user(claims_of(server, account))
        await sessions.access_user(claims_of(server, account))
        assert len(statements) == 2


async def test_an_ended_session_is_refused_at_once_and_a_revoked_one_by_the_database(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    alice, bob = await register(api), await register(api)
    sessions = fresh(server)
    await sessions.access_user(claims_of(server, alice))
    sessions.end(claims_of(server, alice).session_id)
    assert await code_of(sessions.access_user(claims_of(server, alice))) == 114
    # Logged out through REST (this process's own cache is not `sessions`): the row says so.
    assert (await api.post("/auth/logout", headers=bob.bearer)).status_code == 204
    assert await code_of(fresh(server).access_user(claims_of(server, bob))) == 114


async def test_a_lookup_under_way_when_its_session_ends_is_refused(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    account = await register(api)
    sessions = fresh(server)
    claims = claims_of(server, account)
    pending = asyncio.ensure_future(sessions.access_user(claims))
    await asyncio.sleep(0)  # the lookup is queued; its query has not answered yet
    sessions.end(claims.session_id)  # the revocation's broadcast arrives meanwhile
    assert await code_of(pending) == 114


async def test_a_session_of_another_user_or_none_is_refused(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    alice, bob = await register(api), await register(api)
    sessions = fresh(server)
    theirs = claims_of(server, alice)
    mixed = TokenClaims("access", bob.id, theirs.session_id, theirs.jti, theirs.issued_at,
                        theirs.expires_at)
    missing = TokenClaims("access", alice.id, 10**9, theirs.jti, theirs.issued_at,
                          theirs.expires_at)
    assert await code_of(sessions.access_user(mixed)) == 110
    assert await code_of(sessions.access_user(missing)) == 110
    await sessions.access_user(theirs)  # remembered now: the mismatch is still refused
    assert await code_of(sessions.access_user(mixed)) == 110


async def test_a_fresh_check_sees_a_deleted_user_and_forgets_the_session(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    account = await register(api)
    sessions = fresh(server)
    claims = claims_of(server, account)
    await sessions.access_user(claims)
    async with server.context.db.write() as session:
        await session.execute(delete(User).where(User.id == account.id))
    assert await code_of(sessions.access_user(claims, fresh=True)) == 110
    assert await code_of(sessions.access_user(claims)) == 110  # no longer remembered
