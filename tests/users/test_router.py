"""`GET /users/by-nickname/{nickname}`, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from support import register


async def test_finds_a_user_by_exact_nickname_without_email(api: httpx.AsyncClient) -> None:
    caller = await register(api)
    target = await register(api, "finder-target")
    response = await api.get("/users/by-nickname/finder-target", headers=caller.bearer)
    assert response.status_code == 200
    assert response.json() == {"id": target.id, "nickname": "finder-target"}


async def test_unknown_nickname_is_404_code_122(api: httpx.AsyncClient) -> None:
    caller = await register(api)
    await register(api, "CaseMatters")
    response = await api.get("/users/by-nickname/casematters", headers=caller.bearer)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == 122 and body["statusCode"] == 404 and "casematters" in body["message"]


async def test_nickname_longer_than_allowed_is_a_validation_error(api: httpx.AsyncClient) -> None:
    caller = await register(api)
    response = await api.get("/users/by-nickname/" + "x" * 21, headers=caller.bearer)
    assert response.status_code == 400 and response.json()["code"] == 103


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}])
async def test_lookup_needs_an_access_token(api: httpx.AsyncClient,
                                            headers: dict[str, str]) -> None:
    await register(api, "hidden-user")
    response = await api.get("/users/by-nickname/hidden-user", headers=headers)
    assert response.status_code == 401 and response.json()["code"] == 110


async def test_refresh_token_is_refused(api: httpx.AsyncClient) -> None:
    caller = await register(api)
    response = await api.get(f"/users/by-nickname/{caller.nickname}",
                             headers={"Authorization": f"Bearer {caller.refresh_token}"})
    assert response.status_code == 401 and response.json()["code"] == 112
