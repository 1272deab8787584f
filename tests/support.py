"""Test helpers: databases made from a migrated template, live servers, registered users."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from pipechat.app import create_app
from pipechat.config import Settings
from pipechat.context import AppContext
from pipechat.messages.writer import SavedMessage
from pipechat.migrations import apply_migrations
from pipechat.realtime.uvicorn_ws import websocket_protocol

POSTGRES_URL = os.environ.get("PIPECHAT_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("PIPECHAT_TEST_REDIS_URL")
# CI sets this so a missing PostgreSQL or Redis fails the run instead of skipping tests.
REQUIRE_SERVICES = os.environ.get("PIPECHAT_TEST_REQUIRE_SERVICES") == "1"
# Per run, so concurrent test runs on one PostgreSQL never drop each other's template.
TEMPLATE_DB = f"pipechat_test_template_{os.getpid()}"
TEST_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"


def need_service(name: str, url: str | None) -> str:
    """The service URL, or a skip (a failure when CI requires the service)."""
    if url:
        return url
    reason = f"{name} not configured: set PIPECHAT_TEST_{name.upper()}_URL to run this test"
    if REQUIRE_SERVICES:
        pytest.fail(reason)
    pytest.skip(reason)


def _pg_dsn(url: str, database: str | None = None) -> str:
    base = url.replace("postgresql+asyncpg://", "postgresql://")
    if database is None:
        return base
    return base.rsplit("/", 1)[0] + "/" + database


async def prepare_postgres_template(url: str) -> None:
    """(Re)create the migrated template database every test database is copied from."""
    admin = await asyncpg.connect(_pg_dsn(url))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    finally:
        await admin.close()
    await apply_migrations(_pg_dsn(url, TEMPLATE_DB).replace("postgresql://",
                                                             "postgresql+asyncpg://"))


async def drop_postgres_template(url: str) -> None:
    """Remove this run's template database."""
    admin = await asyncpg.connect(_pg_dsn(url))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)")
    finally:
        await admin.close()


async def create_postgres_database(url: str) -> str:
    """A fresh database copied from the template; returns its URL."""
    name = f"pipechat_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_pg_dsn(url))
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    finally:
        await admin.close()
    return _pg_dsn(url, name)


async def drop_postgres_database(url: str, database_url: str) -> None:
    """Drop a database made by `create_postgres_database`."""
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(_pg_dsn(url))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


def copy_sqlite_template(template: Path, target_dir: Path) -> str:
    """A fresh SQLite database file copied from the migrated template; returns its URL."""
    target = target_dir / "pipechat.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


RAISED_LIMITS: dict[str, int] = {
    "login_failures_per_account": 1_000_000,
    "login_failures_per_address": 1_000_000,
    "registrations_per_address": 1_000_000,
    "chats_per_user": 1_000_000,
    "sockets_per_user": 1_000_000,
}
RAISED_LIMITS_ENV = {f"PIPECHAT_{name.upper()}": str(value)
                     for name, value in RAISED_LIMITS.items()}


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test server: fast password hashing, a fixed secret."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "jwt_secret": TEST_SECRET,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "rate_limit_per_second": 1000.0,
        "rate_limit_burst": 1000,
        # The suite registers, logs in, creates chats and opens sockets from 127.0.0.1 by the
        # hundred; the throttles' own tests lower these again.
        **RAISED_LIMITS,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class LiveServer:
    """A pipechat server running in this event loop on a loopback port."""

    url: str
    context: AppContext
    settings: Settings
    sio: Any  # the ChatServer (socketio.AsyncServer), for tests that look inside it


@asynccontextmanager
async def serve_asgi(app: Any, **config: Any) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           ws_per_message_deflate=False, **config))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)


@asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """Serve `create_app(settings)` with uvicorn on a free port until the block ends."""
    app = create_app(settings)
    # The websocket protocol `pipechat serve` uses.
    async with serve_asgi(app, lifespan="on", ws=websocket_protocol(),
                          ws_max_size=settings.max_payload_bytes) as url:
        yield LiveServer(url, app.state, settings, app.engineio_server)


async def count_rows(server: LiveServer, model: Any) -> int:
    """Rows in `model`'s table of the server's database."""
    async with server.context.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@dataclass
class Account:
    """A registered user and its tokens."""

    id: int
    nickname: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def bearer(self) -> dict[str, str]:
        """Headers carrying the access token."""
        return {"Authorization": f"Bearer {self.access_token}"}


# What the `send` fixture gives: save texts as messages of a chat through the real writer.
Send = Callable[[int, "Account", list[str]], Awaitable[list[SavedMessage]]]


async def register(api: httpx.AsyncClient, nickname: str | None = None) -> Account:
    """Register a new user through the API and fetch its id."""
    nickname = nickname or f"u{uuid.uuid4().hex[:10]}"
    email = f"{nickname}@example.com"
    response = await api.post("/auth/register/email",
                              json={"nickname": nickname, "email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    tokens = response.json()
    me = await api.get("/users/me", headers={"Authorization": f"Bearer {tokens['accessToken']}"})
    assert me.status_code == 200, me.text
    return Account(me.json()["id"], nickname, email, PASSWORD, tokens["accessToken"],
                   tokens["refreshToken"])


async def create_chat(api: httpx.AsyncClient, owner: Account, *others: Account) -> dict[str, Any]:
    """A chat of `owner` and `others`, made through `POST /chats`.

    A chat needs someone besides its owner: without `others`, a new user is registered as one.
    """
    others = others or (await register(api),)
    response = await api.post("/chats", json={"userIds": [o.id for o in others]},
                              headers=owner.bearer)
    assert response.status_code == 201, response.text
    chat: dict[str, Any] = response.json()
    return chat


def basic(email: str, password: str) -> dict[str, str]:
    """An `Authorization: Basic` header."""
    raw = base64.b64encode(f"{email}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A real `pipechat serve` child process on a loopback port."""

    def __init__(self, env: dict[str, str], port: int | None = None,
                 log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Tests read these logs as JSON lines, whatever `auto` would pick.
        self.env = {**os.environ, "PIPECHAT_LOG_FORMAT": "json", **env}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> ServerProcess:
        """Start and wait until `/healthz` answers."""
        command = [sys.executable, "-m", "pipechat.cli", "serve", "--port", str(self.port)]
        if self.log_path is None:
            self.process = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
        else:
            # The child keeps its own copy of the descriptor; ours closes at once.
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not become healthy")

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, then SIGKILL if it lingers; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@asynccontextmanager
async def server_pair(postgres_template: str, data_dir: Path,
                      **env: str) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two `pipechat serve` processes on a fresh PostgreSQL database and a Redis channel of
    their own, as a round-robin proxy sees them; `env` adds or overrides settings."""
    redis_url = need_service("redis", REDIS_URL)
    database_url = await create_postgres_database(postgres_template)
    settings = {
        "PIPECHAT_DATABASE_URL": database_url,
        "PIPECHAT_REDIS_URL": redis_url,
        "PIPECHAT_REDIS_CHANNEL": f"pipechat-test-{uuid.uuid4().hex}",
        "PIPECHAT_JWT_SECRET": TEST_SECRET,
        "PIPECHAT_DATA_DIR": str(data_dir),
        "PIPECHAT_ARGON2_TIME_COST": "1",
        "PIPECHAT_ARGON2_MEMORY_KIB": "1024",
        "PIPECHAT_LOG_LEVEL": "WARNING",
        **env,
    }
    servers = (ServerProcess(settings, log_path=data_dir / "a.log"),
               ServerProcess(settings, log_path=data_dir / "b.log"))
    try:
        await asyncio.gather(*(asyncio.to_thread(server.start) for server in servers))
        yield servers
    finally:
        for server in servers:
            server.stop()
        await drop_postgres_database(postgres_template, database_url)


class RedisServer:
    """A private redis-server on a loopback port, so stopping it disturbs nobody else."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its `redis://` URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (it takes a moment before it accepts connections)."""
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.data_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
