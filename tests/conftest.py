"""Fixtures: every database-backed test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipechat.messages.writer import MessageWriter, SavedMessage
from pipechat.migrations import apply_migrations
from support import (
    POSTGRES_URL,
    Account,
    LiveServer,
    Send,
    ServerProcess,
    copy_sqlite_template,
    create_postgres_database,
    drop_postgres_database,
    drop_postgres_template,
    live_server,
    make_settings,
    need_service,
    prepare_postgres_template,
    server_pair,
)


def run_in_fresh_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion even when called from inside a running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    run_in_fresh_loop(apply_migrations(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The migrated PostgreSQL template database (created once per run)."""
    url = need_service("postgres", POSTGRES_URL)
    run_in_fresh_loop(prepare_postgres_template(url))
    yield url
    run_in_fresh_loop(drop_postgres_template(url))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database this test runs on."""
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, request: pytest.FixtureRequest,
                       tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database of the current backend, dropped afterwards."""
    if backend == "sqlite":
        yield copy_sqlite_template(request.getfixturevalue("sqlite_template"), tmp_path)
        return
    admin_url = request.getfixturevalue("postgres_template")
    url = await create_postgres_database(admin_url)
    try:
        yield url
    finally:
        await drop_postgres_database(admin_url, url)


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A live server on its own fresh database."""
    async with live_server(make_settings(database_url, tmp_path)) as running:
        yield running


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the live server."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        yield client



@pytest.fixture
async def send(server: LiveServer) -> AsyncIterator[Send]:
    """Save messages through `MessageWriter`, the path `send_message` uses."""
    writer = MessageWriter(server.context.db)
    writer.start()

    async def _send(chat_id: int, author: Account, texts: list[str]) -> list[SavedMessage]:
        futures = [writer.submit(chat_id, author.id, author.nickname, text, None)
                   for text in texts]
        return list(await asyncio.gather(*futures))

    yield _send
    await writer.stop()


@pytest.fixture
async def two_servers(postgres_template: str,
                      tmp_path: Path) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Processes A and B sharing a fresh database and a Redis channel of their own."""
    async with server_pair(postgres_template, tmp_path) as servers:
        yield servers
