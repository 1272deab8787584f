"""Sessions over REST: refresh rotation, reuse detection, logout and the absolute lifetime."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from pipechat.auth.models import LoginSession
from support import PASSWORD, TEST_SECRET, basic, count_rows, live_server, make_settings, register


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, TEST_SECRET, algorithms=["HS256"],
                                         options={"verify_exp": False})
    return decoded


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(api: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await api.post("/auth/login/email", headers=basic(email, PASSWORD))
    assert response.status_code == 200, response.text
    pair: dict[str, str] = response.json()
    return pair


def refused(response: httpx.Response, code: int) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == code and response.json()["statusCode"] == 401


async def test_tokens_carry_a_jti_and_their_session(api: httpx.AsyncClient) -> None:
    account = await register(api)
    access, refresh = claims(account.access_token), claims(account.refresh_token)
    assert access["sid"] == refresh["sid"] and access["jti"] != refresh["jti"]
    again = await login(api, account.email)
    assert claims(again["accessToken"])["sid"] != access["sid"]
    rotated = await api.post("/auth/token/refresh", headers=bearer(account.refresh_token))
    assert claims(rotated.json()["refreshToken"])["sid"] == refresh["sid"]
    assert claims(rotated.json()["refreshToken"])["jti"] != refresh["jti"]


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(
        api: httpx.AsyncClient) -> None:
    account = await register(api)
    other_session = await login(api, account.email)
    first = await api.post("/auth/token/refresh", headers=bearer(account.refresh_token))
    assert first.status_code == 200
    newest = first.json()["refreshToken"]
    assert (await api.post("/auth/token/access", headers=bearer(newest))).status_code == 200

    # The replaced token again: it leaked, so the whole session goes.
    reused = await api.post("/auth/token/refresh", headers=bearer(account.refresh_token))
    refused(reused, 115)
    refused(await api.post("/auth/token/refresh", headers=bearer(newest)), 114)
    refused(await api.post("/auth/token/access", headers=bearer(newest)), 114)
    refused(await api.get("/users/me", headers=account.bearer), 114)
    # The user's other session is another family: untouched.
    assert (await api.get("/users/me", headers=bearer(other_session["accessToken"]))
            ).status_code == 200
    assert (await api.post("/auth/token/refresh", headers=bearer(other_session["refreshToken"]))
            ).status_code == 200


async def test_an_old_refresh_token_for_an_access_token_counts_as_reuse(
        api: httpx.AsyncClient) -> None:
    account = await register(api)
    newest = (await api.post("/auth/token/refresh",
                             headers=bearer(account.refresh_token))).json()["refreshToken"]
    refused(await api.post("/auth/token/access", headers=bearer(account.refresh_token)), 115)
    refused(await api.post("/auth/token/access", headers=bearer(newest)), 114)
    refused(await api.get("/users/me", headers=account.bearer), 114)


@pytest.mark.parametrize("with_token", ["access", "refresh"])
async def test_logout_revokes_the_session(api: httpx.AsyncClient, with_token: str) -> None:
    account = await register(api)
    other_session = await login(api, account.email)
    token = account.access_token if with_token == "access" else account.refresh_token
    response = await api.post("/auth/logout", headers=bearer(token))
    assert response.status_code == 204 and response.content == b""
    refused(await api.get("/users/me", headers=account.bearer), 114)
    refused(await api.post("/auth/token/access", headers=bearer(account.refresh_token)), 114)
    refused(await api.post("/auth/token/refresh", headers=bearer(account.refresh_token)), 114)
    # Logging out twice is not an error; other sessions stay open.
    assert (await api.post("/auth/logout", headers=bearer(token))).status_code == 204
    assert (await api.get("/users/me", headers=bearer(other_session["accessToken"]))
            ).status_code == 200


async def test_logout_refuses_bad_tokens(api: httpx.AsyncClient) -> None:
    account = await register(api)
    refused(await api.post("/auth/logout"), 110)
    refused(await api.post("/auth/logout", headers=bearer("not.a.jwt")), 110)
    refused(await api.post("/auth/logout", headers=basic(account.email, PASSWORD)), 110)
    assert (await api.get("/users/me", headers=account.bearer)).status_code == 200


async def test_a_session_ends_at_its_absolute_lifetime(database_url: str,
                                                       tmp_path: Path) -> None:
    max_age = 3
    settings = make_settings(database_url, tmp_path, session_max_age_seconds=max_age)
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.url,
                                                                  timeout=30) as api:
        account = await register(api)
        start = claims(account.refresh_token)
        session_end = start["iat"] + max_age
        # Nothing is issued past the session's end, however often it is renewed.
        assert start["exp"] <= session_end
        assert claims(account.access_token)["exp"] <= session_end
        rotated = (await api.post("/auth/token/refresh", headers=bearer(account.refresh_token)
                                  )).json()["refreshToken"]
        access = (await api.post("/auth/token/access", headers=bearer(rotated))
                  ).json()["accessToken"]
        assert claims(rotated)["exp"] <= session_end and claims(access)["exp"] <= session_end

        await asyncio.sleep(max(0.0, session_end + 1 - time.time()))
        refused(await api.post("/auth/token/refresh", headers=bearer(rotated)), 111)
        refused(await api.post("/auth/token/access", headers=bearer(rotated)), 111)
        refused(await api.get("/users/me", headers=bearer(access)), 111)
        # A new login starts a new session, and the expired one is cleared away.
        assert await count_rows(server, LoginSession) == 1
        fresh = await login(api, account.email)
        assert (await api.get("/users/me", headers=bearer(fresh["accessToken"]))
                ).status_code == 200
        assert await count_rows(server, LoginSession) == 1
