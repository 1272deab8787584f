"""Failed logins and registrations are throttled (105, 429, Retry-After), on both databases.

Client addresses other than 127.0.0.1 come from `X-Forwarded-For`, which uvicorn believes
from loopback by default (PIPECHAT_FORWARDED_ALLOW_IPS); tests/limits shows the setting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipechat.users.models import User
from support import PASSWORD, LiveServer, basic, count_rows, live_server, make_settings, register

WINDOW = 600  # seconds: no window ends during a test


def address(ip: str) -> dict[str, str]:
    """Headers that make the request come from `ip` (through the trusted loopback proxy)."""
    return {"X-Forwarded-For": ip}


def assert_throttled(response: httpx.Response) -> dict[str, Any]:
    """A 429 with code 105, a whole-seconds Retry-After and the same in `details`."""
    assert response.status_code == 429, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == 105 and body["statusCode"] == 429
    assert body["error"] == "Too Many Requests"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW
    assert body["details"] == {"retryAfter": retry_after}
    return body


@pytest.fixture
async def throttled(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A server with small login and registration limits."""
    settings = make_settings(database_url, tmp_path, login_failures_per_account=5,
                             login_failures_per_address=12, login_failures_window_seconds=WINDOW,
                             registrations_per_address=3, registrations_window_seconds=WINDOW)
    async with live_server(settings) as running:
        yield running


@pytest.fixture
async def client(throttled: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=throttled.url, timeout=30) as api:
        yield api


async def login(api: httpx.AsyncClient, email: str, password: str,
                ip: str = "198.51.100.1") -> httpx.Response:
    return await api.post("/auth/login/email", headers=basic(email, password) | address(ip))


async def test_thirty_wrong_passwords_are_throttled_and_then_so_is_the_right_one(
        client: httpx.AsyncClient) -> None:
    victim = await register(client)
    answers = [await login(client, victim.email, f"guess number {i}") for i in range(30)]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    assert all(a.json()["code"] == 113 for a in answers[:5])
    refusals = [assert_throttled(a) for a in answers[5:]]
    # The right password gets the very same refusal: the throttle checks no password.
    right = assert_throttled(await login(client, victim.email, PASSWORD))
    assert right["message"] == refusals[-1]["message"]
    # An unknown account is throttled the same way: the throttle tells no one who exists.
    unknown = [await login(client, "nobody@example.com", f"guess {i}") for i in range(6)]
    assert [a.status_code for a in unknown] == [401] * 5 + [429]
    assert unknown[-1].json()["message"] == right["message"]


async def test_a_stranger_cannot_lock_the_owner_out(client: httpx.AsyncClient) -> None:
    victim = await register(client)
    for i in range(8):
        await login(client, victim.email, f"guess {i}", ip="203.0.113.66")
    assert_throttled(await login(client, victim.email, PASSWORD, ip="203.0.113.66"))
    # The owner, at an address that has not failed on the account, logs in; and again.
    for _ in range(2):
        owner = await login(client, victim.email, PASSWORD, ip="192.0.2.10")
        assert owner.status_code == 200, owner.text
    # A second attacker address gets one guess at the locked account, then is refused too.
    guess = await login(client, victim.email, "one more guess", ip="203.0.113.67")
    assert guess.status_code == 401
    assert_throttled(await login(client, victim.email, PASSWORD, ip="203.0.113.67"))


async def test_failures_from_one_address_throttle_every_account_from_it(
        client: httpx.AsyncClient) -> None:
    accounts = [await register(client) for _ in range(3)]
    # 12 failures spread over accounts (4 each, under the per-account limit of 5).
    for account in accounts:
        for i in range(4):
            answer = await login(client, account.email, f"guess {i}", ip="203.0.113.5")
            assert answer.status_code == 401
    body = assert_throttled(await login(client, accounts[0].email, PASSWORD, ip="203.0.113.5"))
    assert "address" in body["message"]
    # Other addresses are not affected, nor are successful logins counted as failures.
    for _ in range(15):
        answer = await login(client, accounts[1].email, PASSWORD, ip="192.0.2.20")
        assert answer.status_code == 200, answer.text


async def test_registrations_are_limited_per_address(client: httpx.AsyncClient,
                                                     throttled: LiveServer) -> None:
    def payload(n: int) -> dict[str, str]:
        return {"nickname": f"newcomer{n}", "email": f"newcomer{n}@example.com",
                "password": PASSWORD}

    for n in range(3):
        created = await client.post("/auth/register/email", json=payload(n),
                                    headers=address("198.51.100.7"))
        assert created.status_code == 201, created.text
    assert_throttled(await client.post("/auth/register/email", json=payload(3),
                                       headers=address("198.51.100.7")))
    assert await count_rows(throttled, User) == 3  # the refused one changed nothing
    elsewhere = await client.post("/auth/register/email", json=payload(3),
                                  headers=address("198.51.100.8"))
    assert elsewhere.status_code == 201, elsewhere.text
