"""Shared by the history benchmarks: a scratch PostgreSQL database and a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg
import httpx

SECRET = "bench-secret-" + "x" * 40
PASSWORD = "correct horse battery"


def database_url(admin_url: str, name: str) -> str:
    """`admin_url` pointed at database `name`."""
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def create_database(admin_url: str, prefix: str) -> str:
    """A new empty database with a unique name; returns its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return database_url(admin_url, name)


async def drop_database(admin_url: str, url: str) -> None:
    """Drop a database made by `create_database`."""
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
    finally:
        await admin.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(url: str, **env: str) -> Iterator[str]:
    """`pipechat serve` on `url` (migrating it) in a child process; yields its base URL."""
    port = _free_port()
    child_env = {**os.environ, "PIPECHAT_DATABASE_URL": url, "PIPECHAT_JWT_SECRET": SECRET,
                 "PIPECHAT_ARGON2_TIME_COST": "1", "PIPECHAT_ARGON2_MEMORY_KIB": "1024",
                 "PIPECHAT_LOG_LEVEL": "WARNING", **env}
    process = subprocess.Popen([sys.executable, "-m", "pipechat.cli", "serve", "--port",
                                str(port)], env=child_env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not become healthy")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class BenchUser:
    """A registered user."""

    id: int
    nickname: str
    headers: dict[str, str]


async def register(api: httpx.AsyncClient) -> BenchUser:
    """Register a fresh user over REST."""
    nickname = f"b{uuid.uuid4().hex[:10]}"
    response = await api.post("/auth/register/email", json={
        "nickname": nickname, "email": f"{nickname}@example.com", "password": PASSWORD})
    response.raise_for_status()
    headers = {"Authorization": f"Bearer {response.json()['accessToken']}"}
    me = await api.get("/users/me", headers=headers)
    me.raise_for_status()
    return BenchUser(me.json()["id"], nickname, headers)


async def create_chat(api: httpx.AsyncClient, owner: BenchUser, *others: BenchUser) -> int:
    """A chat made through `POST /chats`; returns its id."""
    response = await api.post("/chats", json={"userIds": [o.id for o in others]},
                              headers=owner.headers)
    response.raise_for_status()
    return int(response.json()["id"])
