"""Servers the benchmark starts and stops: pipechat (SQLite or a fresh PostgreSQL database) and
the python-socketio baseline; plus the users it registers through the public REST API."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent

# Fast password hashing: registering hundreds of users must not dominate the run. The
# production cost (3 passes, 64 MiB) is unchanged; the bench server alone runs cheaper.
BENCH_SERVER_ENV = {
    "PIPECHAT_RATE_LIMIT_PER_SECOND": "1000000",
    "PIPECHAT_RATE_LIMIT_BURST": "1000000",
    # Hundreds of users registered, their chats created and up to 10,000 sockets opened, all
    # from loopback: the throttles stay in the code path, their limits out of the way.
    "PIPECHAT_REGISTRATIONS_PER_ADDRESS": "1000000",
    "PIPECHAT_CHATS_PER_USER": "1000000",
    "PIPECHAT_SOCKETS_PER_USER": "1000000",
    "PIPECHAT_LOGIN_FAILURES_PER_ACCOUNT": "1000000",
    "PIPECHAT_LOGIN_FAILURES_PER_ADDRESS": "1000000",
    "PIPECHAT_ARGON2_TIME_COST": "1",
    "PIPECHAT_ARGON2_MEMORY_KIB": "1024",
    "PIPECHAT_ACCESS_TOKEN_TTL_SECONDS": "7200",
    "PIPECHAT_LOG_LEVEL": "WARNING",
    # The log file keeps the format it always had, whatever `auto` would pick.
    "PIPECHAT_LOG_FORMAT": "json",
}


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchUser:
    """A user the load generator connects as."""

    id: int
    token: str


def _pg_admin_dsn(url: str, database: str | None = None) -> str:
    base = url.replace("postgresql+asyncpg://", "postgresql://")
    return base if database is None else base.rsplit("/", 1)[0] + "/" + database


async def _pg_execute(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_pg_admin_dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _pg_count(url: str, chat_ids: list[int]) -> int:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(
            "SELECT count(*) FROM messages WHERE chat_id = ANY($1::bigint[])", chat_ids))
    finally:
        await connection.close()


@dataclass
class Server:
    """One server child process on a free loopback port."""

    kind: str  # "pipechat" or "baseline"
    http_server: str = "uvicorn"  # or "granian" (pipechat only)
    postgres_admin_url: str | None = None
    # Another server's database (PostgreSQL or SQLite file): used as is, neither made nor dropped.
    shared_database_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pipechat-bench-")))
    database_url: str | None = None
    _pg_name: str | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the server's output goes."""
        return self.workdir / "server.log"

    def _command_and_env(self) -> tuple[list[str], dict[str, str]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIPECHAT_")}
        if self.kind == "baseline":
            return [sys.executable, str(BENCH_DIR / "baseline_server.py"), "--port",
                    str(self.port)], env
        if self.shared_database_url:
            self.database_url = self.shared_database_url
        elif self.postgres_admin_url:
            self._pg_name = f"pipechat_bench_{secrets.token_hex(6)}"
            asyncio.run(_pg_execute(self.postgres_admin_url, f"CREATE DATABASE {self._pg_name}"))
            self.database_url = _pg_admin_dsn(self.postgres_admin_url, self._pg_name)
        else:
            self.database_url = f"sqlite:///{self.workdir / 'pipechat.db'}"
        env |= BENCH_SERVER_ENV | {
            "PIPECHAT_DATA_DIR": str(self.workdir),
            "PIPECHAT_DATABASE_URL": self.database_url,
            "PIPECHAT_JWT_SECRET": secrets.token_urlsafe(48),
        } | self.extra_env
        if self.http_server == "granian":
            # Same app as `pipechat serve`; granian's backpressure (default 1024 concurrent
            # requests, websockets included) would cap connections, so it is raised.
            subprocess.run([sys.executable, "-m", "pipechat.cli", "migrate"], env=env,
                           check=True, stdout=subprocess.DEVNULL)
            return [sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
                    "--port", str(self.port), "--backpressure", "65536", "--backlog", "4096",
                    "--log-level", "warning", "pipechat.app:create_app"], env
        return [sys.executable, "-m", "pipechat.cli", "serve", "--port", str(self.port)], env

    def start(self, timeout: float = 60) -> Server:
        """Start the process and wait until it answers Engine.IO handshakes."""
        command, env = self._command_and_env()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        probe = f"{self.url}/socket.io/?EIO=4&transport=polling"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(probe, timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.kind} server did not start: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 15 s), then drop the database this server was given."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.postgres_admin_url and self._pg_name:
            asyncio.run(_pg_execute(self.postgres_admin_url,
                                    f"DROP DATABASE IF EXISTS {self._pg_name} WITH (FORCE)"))
            self._pg_name = None

    def commit_sums(self) -> dict[str, float]:
        """The group-commit counters and sums from `/metrics` (none for the baseline)."""
        if self.kind == "baseline":
            return {}
        try:
            with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
                text = response.read().decode()
        except (urllib.error.URLError, OSError):
            return {}
        values = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name.startswith(("pipechat_commit_batch_s", "pipechat_send_commit_seconds_")):
                values[name] = float(value)
        return values

    def count_saved(self, chat_ids: list[int]) -> int | None:
        """Rows in `messages` for these chats (None for the baseline, which saves nothing)."""
        if self.kind == "baseline" or not chat_ids or self.database_url is None:
            return None
        if self.database_url.startswith("sqlite:///"):
            path = self.database_url.removeprefix("sqlite:///")
            marks = ",".join("?" * len(chat_ids))
            with sqlite3.connect(path) as connection:
                row = connection.execute(
                    f"SELECT count(*) FROM messages WHERE chat_id IN ({marks})", chat_ids
                ).fetchone()
            return int(row[0])
        return asyncio.run(_pg_count(self.database_url, chat_ids))

    def make_users(self, count: int, prefix: str) -> list[BenchUser]:
        """`count` users: registered through REST on pipechat, made up on the baseline."""
        if self.kind == "baseline":
            return [BenchUser(i, f"baseline-{i}") for i in range(1, count + 1)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda i: self._register(f"{prefix}{i}"), range(count)))

    def _register(self, nickname: str) -> BenchUser:
        body = json.dumps({"nickname": nickname, "email": f"{nickname}@bench.example.com",
                           "password": "bench-password-1"}).encode()
        request = urllib.request.Request(f"{self.url}/auth/register/email", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            token = json.loads(response.read())["accessToken"]
        return BenchUser(_subject(token), token)


def _subject(token: str) -> int:
    """The user id in a JWT's `sub` (read, not verified: the server verifies it)."""
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return int(claims["sub"])


def commit_figures(sums: list[dict[str, float]]) -> dict[str, float]:
    """Mean batch size and time, mean send->commit, over the servers' `commit_sums`."""
    values: dict[str, float] = {}
    for server_sums in sums:
        for name, value in server_sums.items():
            values[name] = values.get(name, 0) + value
    batches = values.get("pipechat_commit_batch_size_count", 0)
    sent = values.get("pipechat_send_commit_seconds_count", 0)
    if not batches or not sent:
        return {}
    return {"commitBatchMean": round(values["pipechat_commit_batch_size_sum"] / batches, 1),
            "commitBatchMeanMs": round(
                1000 * values["pipechat_commit_batch_seconds_sum"] / batches, 2),
            "sendToCommitMeanMs": round(
                1000 * values["pipechat_send_commit_seconds_sum"] / sent, 2)}
