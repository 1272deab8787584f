"""REST guards on a real server: body size (413, code 107) and the Host allow-list.

The over-size bodies go over a raw TCP connection: an HTTP client would send the whole body
before reading the answer, and the point is that the server answers without reading it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from pipechat.users.models import User
from support import LiveServer, count_rows, create_chat, live_server, make_settings, register

WAIT = 20.0  # a ceiling for a hung server, never a measured duration
CHUNK = b"x" * 16384


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], Any]:
    """Status, headers and JSON body of one HTTP/1.1 response."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip()
               for name, _, value in (line.partition(":") for line in lines if line)}
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), WAIT)
    return int(status_line.split()[1]), headers, orjson.loads(body)


async def open_request(url: str, headers: str) -> tuple[asyncio.StreamReader,
                                                         asyncio.StreamWriter]:
    """A connection on which the request line and `headers` were sent."""
    address = urlsplit(url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(f"POST /auth/register/email HTTP/1.1\r\nHost: {address.netloc}\r\n"
                 f"Content-Type: application/json\r\n{headers}\r\n".encode())
    await writer.drain()
    return reader, writer


async def test_a_declared_length_over_the_limit_is_refused_before_the_body(
        server: LiveServer) -> None:
    reader, writer = await open_request(server.url, f"Content-Length: {19 * 2**20}\r\n")
    try:
        writer.write(b'{"nickname": "' + CHUNK)  # a start, far from the 19 MiB announced
        status, headers, body = await read_response(reader)
    finally:
        writer.close()
    assert status == 413 and headers["content-type"] == "application/json"
    assert body["code"] == 107 and body["statusCode"] == 413
    assert await count_rows(server, User) == 0


async def test_a_chunked_body_is_cut_at_the_limit(server: LiveServer) -> None:
    reader, writer = await open_request(server.url, "Transfer-Encoding: chunked\r\n")
    answer = asyncio.create_task(read_response(reader))
    sent = 0
    try:
        # Keep streaming until the server answers; it must not wait for the end.
        while not answer.done() and sent < 64 * 2**20:
            writer.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
            sent += len(CHUNK)
            try:
                await writer.drain()
            except ConnectionError:
                break
        status, _headers, body = await answer
    finally:
        writer.close()
    assert status == 413 and body["code"] == 107
    assert sent < 64 * 2**20
    assert await count_rows(server, User) == 0


async def test_bodies_within_the_limit_still_work(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, max_request_bytes=2048)
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.url) as api:
        owner = await register(api)  # a small JSON body passes
        padded = await api.post("/chats", headers=owner.bearer,
                                content=b'{"userIds": []' + b" " * 4096 + b"}")
        assert padded.status_code == 413 and padded.json()["code"] == 107
        assert (await create_chat(api, owner))["users"][0]["id"] == owner.id


async def test_hosts_outside_the_allow_list_are_refused(database_url: str,
                                                        tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path,
                             allowed_hosts="chat.example.com, *.internal.example")
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.url) as api:
        forged = await api.post("/auth/register/email", headers={"Host": "evil.example"},
                                json={"nickname": "x", "email": "x@example.com",
                                      "password": "long enough"})
        assert forged.status_code == 400 and forged.json()["code"] == 103
        assert await count_rows(server, User) == 0
        api.headers["Host"] = "chat.example.com:8000"
        owner = await register(api)
        for _ in range(2):
            await create_chat(api, owner)
        page = (await api.get("/chats?take=1", headers=owner.bearer)).json()
        assert page["next"].startswith("http://chat.example.com:8000/chats?")
        for host in ("node1.internal.example", "CHAT.EXAMPLE.COM"):
            answer = await api.get("/healthz", headers={"Host": host})
            assert answer.status_code == 200, host
        for host in ("internal.example", "chat.example.com.evil", ""):
            answer = await api.get("/healthz", headers={"Host": host})
            assert answer.status_code == 400 and answer.json()["code"] == 103, host


@pytest.mark.parametrize("host", ["evil.example", "localhost:1"])
async def test_without_an_allow_list_the_host_is_reflected(api: httpx.AsyncClient,
                                                           host: str) -> None:
    # The documented default: links follow the Host header unless PIPECHAT_PUBLIC_BASE_URL
    # or PIPECHAT_ALLOWED_HOSTS is set.
    owner = await register(api)
    for _ in range(2):
        await create_chat(api, owner)
    page = (await api.get("/chats?take=1", headers={**owner.bearer, "Host": host})).json()
    assert page["next"].startswith(f"http://{host}/chats?")
