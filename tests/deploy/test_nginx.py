"""deploy/nginx/pipechat.conf in Debian's nginx, in front of two real `pipechat serve` processes.

The official JS client (tests/js/through-nginx.mjs) runs the seed scenario through nginx over
WebSocket and long-polling, then keeps sending while one process is restarted; its clients
move to the other process through nginx and nothing acknowledged is lost or stored twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from deploy.nginx import REPO, SITE, Nginx, Route, need_nginx
from faults.conftest import server_env, stopping
from pipechat.app import create_app
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


def test_proxy_timeouts_outlive_the_engineio_heartbeat(tmp_path: Path) -> None:
    """An idle healthy connection sees one ping per interval and may wait that long for a pong."""
    app: Any = create_app(make_settings(f"sqlite:///{tmp_path}/pipechat.db", tmp_path))
    heartbeat = app.engineio_server.eio.ping_interval + app.engineio_server.eio.ping_timeout
    for directive in ("proxy_read_timeout", "proxy_send_timeout"):
        seconds = re.findall(rf"^\s*{directive} (\d+)s;$", SITE.read_text(), re.MULTILINE)
        assert len(seconds) == 1 and int(seconds[0]) > heartbeat, directive


@dataclass
class Run:
    """What the clients reported, and where the restart falls in nginx's access log."""

    report: dict[str, Any]
    moving_source: str  # a client address nginx hashes to the restarted process
    staying_source: str  # and one it hashes to the other process
    logged_before_restart: int


async def restart_under_clients(node: str, nginx: Nginx, moving: ServerProcess,
                                staying: ServerProcess, logs: Path) -> Run:
    """Run the JS clients through nginx and restart `moving` when they are sending."""
    sources = nginx.sources_for()
    clients = await start_node(node, {
        "PIPECHAT_JS_URL": nginx.url,
        "PIPECHAT_JS_MOVING": sources[moving.port],
        "PIPECHAT_JS_STAYING": sources[staying.port],
    }, logs / "node.log")
    try:
        await clients.expect("seeded")
        await clients.expect("sending")
        logged = len(nginx.routes())
        assert await asyncio.to_thread(moving.stop) == 0
        await asyncio.to_thread(moving.start)
        await clients.tell("restarted")
        done = await clients.expect("done")
        assert await asyncio.wait_for(clients.process.wait(), STEP_TIMEOUT) == 0
    finally:
        if clients.process.returncode is None:
            clients.process.kill()
            await clients.process.wait()
    return Run(done, sources[moving.port], sources[staying.port], logged)


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_js_client_through_nginx_survives_a_restart(database_url: str,
                                                          tmp_path: Path) -> None:
    """Seed scenario on both transports through nginx, then a restart that loses nothing."""
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
                     # uvicorn's line per accepted WebSocket, read below, is at DEBUG.
                     PIPECHAT_LOG_LEVEL="DEBUG")
    moving, staying = (ServerProcess(env, log_path=logs / f"{name}.log")
                       for name in ("moving", "staying"))
    nginx = Nginx(nginx_binary, tmp_path / "nginx", [moving.port, staying.port], public_port)
    with stopping(moving, staying):
        moving.start()
        staying.start()
        nginx.start()
        try:
            run = await restart_under_clients(node, nginx, moving, staying, logs)
        finally:
            nginx.stop()

    await check_stored_once(database_url, tmp_path / "checks", run.report["acked"])
    routes = nginx.routes()
    # Sticky while both processes were up: every request from one address reached one process.
    before = upstreams_by_source(routes[:run.logged_before_restart])
    assert before[run.moving_source] == {moving.port}
    assert before[run.staying_source] == {staying.port}
    # During the restart, nginx sent the moving clients to the other process.
    after = upstreams_by_source(routes[run.logged_before_restart:])
    assert staying.port in after[run.moving_source]
    # uvicorn trusted nginx's X-Forwarded-For: it saw the clients' own addresses.
    assert run.moving_source in accepted_websocket_clients(logs / "moving.log")
    assert run.staying_source in accepted_websocket_clients(logs / "staying.log")
