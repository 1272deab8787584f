"""Text no database can store, and invisible characters in nicknames, are refused with 103.

Bodies are sent as raw JSON so they can carry escapes such as `\\ud800` (valid JSON for a
lone surrogate) that a JSON encoder would refuse to produce. SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import httpx
import pytest

from pipechat.users.models import User
from support import PASSWORD, LiveServer, basic, count_rows, register

GOOD_EMAIL = r'"someone@example.com"'
GOOD_PASSWORD = f'"{PASSWORD}"'


def registration(nickname: str = '"someone"', email: str = GOOD_EMAIL,
                 password: str = GOOD_PASSWORD) -> bytes:
    """A registration body from raw JSON values."""
    return f'{{"nickname":{nickname},"email":{email},"password":{password}}}'.encode()


@pytest.mark.parametrize("body,field", [
    (registration(nickname=r'"ab\u0000c"'), "nickname"),
    (registration(nickname=r'"ab\ud800"'), "nickname"),
    (registration(nickname=r'"\u200b"'), "nickname"),  # zero-width space only
    (registration(nickname=r'"ad\u200bmin"'), "nickname"),
    (registration(nickname=r'"evil\u202etxt.exe"'), "nickname"),  # right-to-left override
    (registration(nickname=r'"two\nlines"'), "nickname"),
    (registration(nickname=r'"tab\tbed"'), "nickname"),
    (registration(nickname=r'"no\u00a0break"'), "nickname"),  # looks like a plain space
    (registration(nickname=r'"line\u2028sep"'), "nickname"),
    (registration(nickname=r'"private\ue000"'), "nickname"),
    (registration(nickname=r'"unassigned\u0378"'), "nickname"),
    (registration(email=r'"nul\u0000@example.com"'), "email"),
    (registration(email=r'"x\udfff@example.com"'), "email"),
    (registration(password=r'"long enough\u0000"'), "password"),
    (registration(password=r'"long enough\ud800"'), "password"),
])
async def test_registration_refuses_unstorable_and_invisible_text(
        api: httpx.AsyncClient, server: LiveServer, body: bytes, field: str) -> None:
    response = await api.post("/auth/register/email", content=body,
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == 103 and any(line.startswith(field) for line in error["message"])
    assert await count_rows(server, User) == 0


@pytest.mark.parametrize("nickname", ["Ann Lee", "안녕하세요", "Zoë", "o'brien-2", "🙂🙂"])
async def test_visible_nicknames_are_accepted(api: httpx.AsyncClient, nickname: str) -> None:
    response = await api.post("/auth/register/email", json={
        "nickname": nickname, "email": "visible@example.com", "password": PASSWORD})
    assert response.status_code == 201, response.text
    me = await api.get("/users/me", headers={
        "Authorization": f"Bearer {response.json()['accessToken']}"})
    assert me.json()["nickname"] == nickname


async def test_lookup_by_an_unstorable_nickname_is_refused(api: httpx.AsyncClient) -> None:
    caller = await register(api)
    response = await api.get("/users/by-nickname/a%00b", headers=caller.bearer)
    assert response.status_code == 400 and response.json()["code"] == 103


async def test_login_with_a_nul_in_the_credentials_is_refused(api: httpx.AsyncClient) -> None:
    account = await register(api)
    response = await api.post("/auth/login/email", headers=basic(account.email + "\x00",
                                                                 PASSWORD))
    assert response.status_code == 400 and response.json()["code"] == 103


async def test_an_unstorable_unknown_field_name_gets_a_readable_error(
        api: httpx.AsyncClient) -> None:
    owner = await register(api)
    response = await api.post("/chats", content=rb'{"userIds":[],"\ud800":1}',
                              headers={**owner.bearer, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 103
