"""The seed's /auth flow and every way of getting it wrong, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import time

import httpx
import jwt
import pytest
from sqlalchemy import delete

from pipechat.users.models import User
from support import PASSWORD, TEST_SECRET, LiveServer, basic, count_rows, register


def token(sub: object, kind: str, exp_offset: int = 300, **claims: object) -> str:
    now = int(time.time())
    payload = {"sub": sub, "type": kind, "sid": "1", "jti": "forged", "iat": now,
               "exp": now + exp_offset}
    return jwt.encode(payload | claims, TEST_SECRET, algorithm="HS256")


async def test_register_login_refresh_and_me(api: httpx.AsyncClient) -> None:
    account = await register(api, "codefactory")
    login = await api.post("/auth/login/email", headers=basic(account.email, PASSWORD))
    assert login.status_code == 200
    assert set(login.json()) == {"accessToken", "refreshToken"}
    refresh = {"Authorization": f"Bearer {login.json()['refreshToken']}"}
    access = await api.post("/auth/token/access", headers=refresh)
    assert access.status_code == 200 and set(access.json()) == {"accessToken"}
    rotated = await api.post("/auth/token/refresh", headers=refresh)
    assert rotated.status_code == 200 and set(rotated.json()) == {"refreshToken"}
    me = await api.get("/users/me",
                       headers={"Authorization": f"Bearer {access.json()['accessToken']}"})
    assert me.status_code == 200
    body = me.json()
    assert body["nickname"] == "codefactory" and body["email"] == "codefactory@example.com"
    assert body["role"] == "USER" and "createdAt" in body and "updatedAt" in body
    assert not {"password", "passwordHash", "password_hash"} & set(body)


async def test_tokens_carry_sub_type_and_exp(api: httpx.AsyncClient) -> None:
    account = await register(api)
    claims = jwt.decode(account.access_token, TEST_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(account.id) and claims["type"] == "access"
    assert 290 <= claims["exp"] - claims["iat"] <= 300
    refresh = jwt.decode(account.refresh_token, TEST_SECRET, algorithms=["HS256"])
    assert refresh["type"] == "refresh" and refresh["exp"] - refresh["iat"] == 3600


async def test_password_is_stored_as_argon2(api: httpx.AsyncClient, server: LiveServer) -> None:
    account = await register(api)
    async with server.context.db.read() as session:
        user = await session.get(User, account.id)
    assert user is not None and user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize("field,code", [("email", 120), ("nickname", 121)])
async def test_duplicate_is_refused_by_field(api: httpx.AsyncClient, server: LiveServer,
                                             field: str, code: int) -> None:
    first = await register(api)
    body = {"nickname": "other", "email": "other@example.com", "password": PASSWORD}
    body[field] = getattr(first, field)
    before = await count_rows(server, User)
    response = await api.post("/auth/register/email", json=body)
    assert response.status_code == 400
    error = response.json()
    assert error["statusCode"] == 400 and error["error"] == "Bad Request"
    assert error["code"] == code and field in error["message"]
    assert await count_rows(server, User) == before


async def test_email_is_unique_regardless_of_case(api: httpx.AsyncClient) -> None:
    first = await register(api)
    response = await api.post("/auth/register/email", json={
        "nickname": "shouty", "email": first.email.upper(), "password": PASSWORD})
    assert response.status_code == 400 and response.json()["code"] == 120


BAD_BODIES = [
    ({"email": "a@example.com", "password": PASSWORD}, "nickname"),
    ({"nickname": "", "email": "a@example.com", "password": PASSWORD}, "nickname"),
    ({"nickname": "n" * 21, "email": "a@example.com", "password": PASSWORD}, "nickname"),
    ({"nickname": "ok", "email": "not-an-email", "password": PASSWORD}, "email"),
    ({"nickname": "ok", "email": "a@example.com", "password": "short"}, "password"),
    ({"nickname": "ok", "email": "a@example.com", "password": "p" * 129}, "password"),
    ({"nickname": 5, "email": "a@example.com", "password": PASSWORD}, "nickname"),
    ({"nickname": "ok", "email": "a@example.com", "password": PASSWORD, "role": "ADMIN"},
     "role"),
]


@pytest.mark.parametrize("body,field", BAD_BODIES)
async def test_invalid_register_body_names_the_field(
    api: httpx.AsyncClient, server: LiveServer, body: dict[str, object], field: str
) -> None:
    response = await api.post("/auth/register/email", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == 103 and error["error"] == "Bad Request"
    assert any(field in line for line in error["message"]), error
    assert await count_rows(server, User) == 0


@pytest.mark.parametrize("content", [b"not json", b"[1, 2]", b"", b'"string"'])
async def test_register_body_that_is_not_an_object(api: httpx.AsyncClient,
                                                   content: bytes) -> None:
    response = await api.post("/auth/register/email", content=content,
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == 103


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize("header", [
    None,
    "Bearer abc",
    "Basic",
    "Basic !!!notbase64",
    f"Basic {b64(b'no-colon-here')}",
    f"Basic {b64(b':password-only')}",
    f"Basic {b64(bytes([0xff, 0xfe, 0x3a, 0x41]))}",
])
async def test_login_with_malformed_basic_header(api: httpx.AsyncClient,
                                                 header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await api.post("/auth/login/email", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == 110 and response.json()["statusCode"] == 401


async def test_login_wrong_password_and_unknown_user(api: httpx.AsyncClient) -> None:
    account = await register(api)
    wrong = await api.post("/auth/login/email", headers=basic(account.email, "wrong password"))
    unknown = await api.post("/auth/login/email", headers=basic("nobody@example.com", PASSWORD))
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json()["code"] == 113
    assert wrong.json()["message"] == unknown.json()["message"]


@pytest.mark.parametrize("path", ["/auth/token/access", "/auth/token/refresh"])
async def test_token_routes_refuse_bad_tokens(api: httpx.AsyncClient, path: str) -> None:
    account = await register(api)
    cases = {
        "missing": ({}, 110),
        "not bearer": ({"Authorization": f"Basic {account.refresh_token}"}, 110),
        "garbage": ({"Authorization": "Bearer not.a.jwt"}, 110),
        "wrong secret": ({"Authorization": "Bearer " + jwt.encode(
            {"sub": str(account.id), "type": "refresh", "exp": int(time.time()) + 60},
            "another-secret-" + "y" * 40, algorithm="HS256")}, 110),
        "access as refresh": ({"Authorization": f"Bearer {account.access_token}"}, 112),
        "expired": ({"Authorization": f"Bearer {token(str(account.id), 'refresh', -5)}"}, 111),
        "sub not a number": ({"Authorization": f"Bearer {token('abc', 'refresh')}"}, 110),
        "unknown user": ({"Authorization": f"Bearer {token('999999', 'refresh')}"}, 110),
        "no session (issued before sessions)": ({"Authorization": "Bearer " + jwt.encode(
            {"sub": str(account.id), "type": "refresh", "exp": int(time.time()) + 60},
            TEST_SECRET, algorithm="HS256")}, 110),
        "unknown session": ({"Authorization": "Bearer " + token(
            str(account.id), "refresh", sid="999999")}, 110),
    }
    for name, (headers, code) in cases.items():
        response = await api.post(path, headers=headers)
        assert response.status_code == 401, name
        assert response.json()["code"] == code, name


async def test_me_refuses_refresh_expired_and_deleted(api: httpx.AsyncClient,
                                                      server: LiveServer) -> None:
    account = await register(api)
    as_refresh = await api.get("/users/me",
                               headers={"Authorization": f"Bearer {account.refresh_token}"})
    assert as_refresh.status_code == 401 and as_refresh.json()["code"] == 112
    expired = await api.get("/users/me", headers={
        "Authorization": f"Bearer {token(str(account.id), 'access', -1)}"})
    assert expired.status_code == 401 and expired.json()["code"] == 111
    async with server.context.db.write() as session:
        await session.execute(delete(User).where(User.id == account.id))
    gone = await api.get("/users/me", headers=account.bearer)
    assert gone.status_code == 401 and gone.json()["code"] == 110


async def test_unknown_route_and_method_use_the_error_shape(api: httpx.AsyncClient) -> None:
    missing = await api.get("/no/such/route")
    assert missing.status_code == 404 and missing.json()["code"] == 130
    wrong_method = await api.get("/auth/register/email")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["statusCode"] == 405 and wrong_method.json()["code"] == 131


async def test_non_ascii_password_logs_in_with_utf8_basic(api: httpx.AsyncClient) -> None:
    password = "pässwörd123"
    registered = await api.post("/auth/register/email", json={
        "nickname": "umlaut", "email": "umlaut@example.com", "password": password})
    assert registered.status_code == 201, registered.text
    # As the web page sends it: base64 of the UTF-8 bytes of "email:password".
    login = await api.post("/auth/login/email", headers=basic("umlaut@example.com", password))
    assert login.status_code == 200, login.text
    assert set(login.json()) == {"accessToken", "refreshToken"}
    # The scheme is still documented as HTTP Basic.
    schema = (await api.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["HTTPBasic"] == {"type": "http",
                                                                    "scheme": "basic"}
    assert {"HTTPBasic": []} in schema["paths"]["/auth/login/email"]["post"]["security"]
