"""deploy/nginx/pipechat.conf in Debian's nginx, in front of two real `pipechat serve` processes.

The official JS client (tests/js/through-nginx.mjs) runs the seed scenario through nginx over
WebSocket and long-polling, then keeps sending while one process is restarted; its clients
move to the other process through nginx and nothing acknowledged is lost or stored twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from deploy.nginx import REPO, Nginx, Route, need_nginx
from faults.conftest import server_env, stopping
from pipechat.db import Database
from pipechat.messages.models import Message
from support import (
    REDIS_URL,
    REQUIRE_SERVICES,
    ServerProcess,
    free_port,
    make_settings,
    need_service,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis]
JS = REPO / "tests" / "js"
STEP_TIMEOUT = 60


def need_node() -> str:
    """node, with tests/js installed (`npm ci`, as scripts/test.sh does)."""
    node = shutil.which("node")
    if node and (JS / "node_modules" / "socket.io-client").is_dir():
        return node
    reason = "node or tests/js/node_modules missing: cd tests/js && npm ci"
    if REQUIRE_SERVICES:
        pytest.fail(reason)
    pytest.skip(reason)


class NodeClients:
    """tests/js/through-nginx.mjs as a child process, spoken to one JSON line at a time."""

    def __init__(self, process: asyncio.subprocess.Process, stderr: Path) -> None:
        self.process = process
        self.stderr = stderr

    async def expect(self, step: str) -> dict[str, Any]:
        """The next report, which must be `step`."""
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), STEP_TIMEOUT)
        assert line, f"node ended before {step!r}: {self.stderr.read_text()}"
        report: dict[str, Any] = json.loads(line)
        assert report["step"] == step, report
        return report

    async def tell(self, line: str) -> None:
        """Write one line to its stdin."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()


async def start_node(node: str, env: dict[str, str], stderr: Path) -> NodeClients:
    """Start the JS clients; their errors go to `stderr`."""
    errors = os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        process = await asyncio.create_subprocess_exec(
            node, "through-nginx.mjs", cwd=JS, env={**os.environ, **env},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=errors)
    finally:
        os.close(errors)  # the child has its own copy
    return NodeClients(process, stderr)


def accepted_websocket_clients(log: Path) -> set[str]:
    """Client addresses uvicorn logged as accepted WebSockets (after X-Forwarded-For)."""
    clients = set()
    for line in log.read_text().splitlines():
        event = json.loads(line).get("event", "") if line.startswith("{") else ""
        if '"WebSocket /socket.io/' in event and event.endswith("[accepted]"):
            clients.add(event.split(":", 1)[0])
    return clients


def upstreams_by_source(routes: list[Route]) -> dict[str, set[int]]:
    """Which upstreams answered the requests from each source address."""
    seen: dict[str, set[int]] = {}
    for route in routes:
        if route.upstreams:
            seen.setdefault(route.source, set()).add(route.upstreams[-1])
    return seen


async def check_stored_once(database_url: str, data_dir: Path,
                            acked: list[list[Any]]) -> None:
    """Every acknowledged (author, clientMessageId) is stored once, with the acked id."""
    db = Database(make_settings(database_url, data_dir))
    try:
        async with db.read() as session:
            rows = (await session.execute(select(
                Message.id, Message.author_id, Message.client_message_id))).all()
            doubled = (await session.execute(
                select(Message.author_id, Message.client_message_id, func.count())
                .group_by(Message.author_id, Message.client_message_id)
                .having(func.count() > 1, Message.client_message_id.is_not(None)))).all()
    finally:
        await db.dispose()
    assert doubled == []
    stored = {(row.author_id, row.client_message_id): row.id for row in rows}
    assert acked and all(stored[(author, key)] == message_id
                         for author, key, message_id in acked)


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_js_client_through_nginx_survives_a_restart(database_url: str,
                                                          tmp_path: Path) -> None:
    nginx_binary = need_nginx()
    node = need_node()
    redis_url = need_service("redis", REDIS_URL)
    logs = tmp_path / "logs"
    logs.mkdir()
    public_port = free_port()
    # The settings deploy/README.md lists for every process behind the proxy.
    env = server_env(database_url, tmp_path, PIPECHAT_REDIS_URL=redis_url,
                     PIPECHAT_REDIS_CHANNEL=f"nginx-{uuid.uuid4().hex}",
                     PIPECHAT_PUBLIC_BASE_URL=f"http://127.0.0.1:{public_port}",
                     PIPECHAT_LOG_LEVEL="INFO")
    servers = [ServerProcess(env, log_path=logs / f"server{i}.log").start() for i in (1, 2)]
    nginx = Nginx(nginx_binary, tmp_path / "nginx", [server.port for server in servers],
                  public_port)
    with stopping(*servers):
        nginx.start()
        try:
            # A client address hashed to each process; the first process will be restarted.
            sources = nginx.sources_for()
            moving, staying = servers[0], servers[1]
            clients = await start_node(node, {
                "PIPECHAT_JS_URL": nginx.url,
                "PIPECHAT_JS_MOVING": sources[moving.port],
                "PIPECHAT_JS_STAYING": sources[staying.port],
            }, logs / "node.log")
            await clients.expect("seeded")
            await clients.expect("sending")
            before_restart = len(nginx.routes())
            assert await asyncio.to_thread(moving.stop) == 0
            await asyncio.to_thread(moving.start)
            await clients.tell("restarted")
            done = await clients.expect("done")
            assert await asyncio.wait_for(clients.process.wait(), STEP_TIMEOUT) == 0
        finally:
            nginx.stop()
        routes = nginx.routes()

    await check_stored_once(database_url, tmp_path / "checks", done["acked"])
    # Sticky while both processes were up: every request from one address reached one process.
    before = upstreams_by_source(routes[:before_restart])
    assert before[sources[moving.port]] == {moving.port}
    assert before[sources[staying.port]] == {staying.port}
    # During the restart, nginx sent the moving clients to the other process.
    assert staying.port in upstreams_by_source(routes[before_restart:])[sources[moving.port]]
    # uvicorn trusted nginx's X-Forwarded-For: it saw the clients' own addresses.
    assert sources[moving.port] in accepted_websocket_clients(logs / "server1.log")
    assert sources[staying.port] in accepted_websocket_clients(logs / "server2.log")
