"""The throttles on real servers: bounded memory, one budget across processes sharing Redis,
and the client address an operator's proxy setting decides."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pipechat.limits.counters import LocalCounters
from support import (
    PASSWORD,
    ServerProcess,
    basic,
    live_server,
    make_settings,
    register,
    server_pair,
)


async def test_an_attacker_cycling_emails_cannot_grow_the_counters(
        database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, limits_max_keys=100)
    async with (live_server(settings) as server,
                httpx.AsyncClient(base_url=server.url, timeout=30) as api):
        answers = await asyncio.gather(*(
            api.post("/auth/login/email", headers=basic(f"victim{n}@example.com", "guess"))
            for n in range(300)))
        assert {answer.status_code for answer in answers} == {401}
        counters = server.context.limits.counters
        assert isinstance(counters, LocalCounters)
        assert counters.tracked("login-account") == counters.tracked("login-pair") == 100
        assert counters.tracked("login-address") == 1


@pytest.fixture
async def two_servers(postgres_template: str,
                      tmp_path: Path) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two processes on one database and one Redis (a round-robin proxy's view)."""
    async with server_pair(postgres_template, tmp_path,
                           PIPECHAT_LOGIN_FAILURES_PER_ACCOUNT="4") as servers:
        yield servers


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
async def test_processes_sharing_redis_share_the_login_budget(
        two_servers: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = two_servers
    async with httpx.AsyncClient(timeout=30) as http:
        async with httpx.AsyncClient(base_url=a.url, timeout=30) as api:
            victim = await register(api)

        async def login(server: ServerProcess, password: str) -> int:
            answer = await http.post(f"{server.url}/auth/login/email",
                                     headers=basic(victim.email, password))
            return answer.status_code

        # Round robin: 2 failures on each process use up the account's 4.
        assert [await login(server, "guess") for server in (a, b, a, b)] == [401] * 4
        assert [await login(server, "guess") for server in (a, b)] == [429, 429]
        assert [await login(server, PASSWORD) for server in (a, b)] == [429, 429]


async def register_from(server: ServerProcess, forwarded_for: str) -> int:
    body = {"nickname": f"u{uuid.uuid4().hex[:10]}", "password": PASSWORD}
    body["email"] = f"{body['nickname']}@example.com"
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        answer = await http.post("/auth/register/email", json=body,
                                 headers={"X-Forwarded-For": forwarded_for})
    return answer.status_code


@pytest.mark.parametrize("trusted,third", [(None, 201), ("192.0.2.1", 429)],
                         ids=["loopback-proxy-trusted", "untrusted"])
async def test_forwarded_for_counts_only_from_trusted_proxies(
        tmp_path: Path, trusted: str | None, third: int) -> None:
    env = {"PIPECHAT_DATA_DIR": str(tmp_path), "PIPECHAT_ARGON2_TIME_COST": "1",
           "PIPECHAT_ARGON2_MEMORY_KIB": "1024", "PIPECHAT_REGISTRATIONS_PER_ADDRESS": "2"}
    if trusted is not None:
        env["PIPECHAT_FORWARDED_ALLOW_IPS"] = trusted
    server = ServerProcess(env, log_path=tmp_path / "server.log").start()
    try:
        assert [await register_from(server, "198.51.100.1") for _ in range(2)] == [201, 201]
        # Another client behind the proxy: its own budget only if the proxy is believed.
        assert await register_from(server, "198.51.100.2") == third
    finally:
        server.stop()
