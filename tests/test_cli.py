"""The `pipechat` command as an operator uses it: real processes, real files."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from realtime.peers import Peer
from support import PASSWORD, POSTGRES_URL, ServerProcess, basic, free_port, need_service


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipechat.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def test_serve_end_to_end_on_the_embedded_default(tmp_path: Path) -> None:
    """Fresh data dir: migrations, generated secret, then the whole account flow over HTTP."""
    env = {"PIPECHAT_DATA_DIR": str(tmp_path / "data"), "PIPECHAT_ARGON2_MEMORY_KIB": "1024"}
    env.pop("PIPECHAT_DATABASE_URL", None)
    server = ServerProcess(env, log_path=tmp_path / "server.log").start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            body = {"nickname": "e2e", "email": "e2e@example.com", "password": PASSWORD}
            assert http.post("/auth/register/email", json=body).status_code == 201
            login = http.post("/auth/login/email", headers=basic("e2e@example.com", PASSWORD))
            refresh = login.json()["refreshToken"]
            access = http.post("/auth/token/access",
                               headers={"Authorization": f"Bearer {refresh}"}).json()
            me = http.get("/users/me",
                          headers={"Authorization": f"Bearer {access['accessToken']}"})
            assert me.status_code == 200 and me.json()["nickname"] == "e2e"
    finally:
        # SIGTERM drains and exits cleanly.
        assert server.stop() == 0
    assert "Application shutdown complete" in (tmp_path / "server.log").read_text()
    assert (tmp_path / "data" / "pipechat.db").exists()
    secret = tmp_path / "data" / "jwt_secret"
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_text()) >= 32


def test_generated_secret_survives_restart(tmp_path: Path) -> None:
    """Tokens issued before a restart still work after it."""
    env = {"PIPECHAT_DATA_DIR": str(tmp_path), "PIPECHAT_ARGON2_MEMORY_KIB": "1024"}
    first = ServerProcess(env).start()
    try:
        body = {"nickname": "keep", "email": "keep@example.com", "password": PASSWORD}
        token = httpx.post(f"{first.url}/auth/register/email", json=body).json()["accessToken"]
    finally:
        first.stop()
    second = ServerProcess(env).start()
    try:
        me = httpx.get(f"{second.url}/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
    finally:
        second.stop()


def test_postgres_without_secret_is_refused(tmp_path: Path) -> None:
    url = need_service("postgres", POSTGRES_URL)
    result = run_cli("migrate", env={"PIPECHAT_DATABASE_URL": url,
                                     "PIPECHAT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "PIPECHAT_JWT_SECRET is required" in result.stderr


def test_short_secret_is_refused(tmp_path: Path) -> None:
    result = run_cli("migrate", env={"PIPECHAT_DATA_DIR": str(tmp_path),
                                     "PIPECHAT_JWT_SECRET": "short"})
    assert result.returncode == 2 and "at least 32" in result.stderr


def test_migrate_and_user_create(tmp_path: Path) -> None:
    env = {"PIPECHAT_DATA_DIR": str(tmp_path), "PIPECHAT_ARGON2_MEMORY_KIB": "1024"}
    migrated = run_cli("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    created = run_cli("user", "create", "--nickname", "root", "--email", "root@example.com",
                      "--password", PASSWORD, env=env)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created user 1"
    # Only the answer: no log lines of the migrations it checked first.
    assert created.stderr == "" and migrated.stderr == ""
    duplicate = run_cli("user", "create", "--nickname", "root", "--email", "r2@example.com",
                        "--password", PASSWORD, env=env)
    assert duplicate.returncode == 1 and "nickname" in duplicate.stderr
    # ADMIN grants nothing, so there is no flag that gives it.
    admin = run_cli("user", "create", "--nickname", "boss", "--email", "boss@example.com",
                    "--password", PASSWORD, "--admin", env=env)
    assert admin.returncode == 2 and "unrecognized arguments: --admin" in admin.stderr
    invalid = run_cli("user", "create", "--nickname", "x", "--email", "nope",
                      "--password", PASSWORD, env=env)
    assert invalid.returncode == 2 and "email" in invalid.stderr


class Terminal:
    """A pseudo-terminal for a child's stderr, read on a thread so the child never blocks."""

    def __init__(self) -> None:
        self.leader, self.follower = os.openpty()
        self.output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.leader, 65536)
            except OSError:  # the last writer closed the terminal
                return
            if not chunk:
                return
            self.output += chunk

    def close(self) -> str:
        """Everything written, once the child has exited."""
        os.close(self.follower)
        self._reader.join(10)
        os.close(self.leader)
        return self.output.decode(errors="replace").replace("\r\n", "\n")


async def connect_and_leave(url: str, token: str) -> None:
    peer = await Peer().connect(url, token)
    await peer.close()


def test_serve_on_a_terminal_logs_readable_lines_and_none_per_connect(tmp_path: Path) -> None:
    env = {**os.environ, "PIPECHAT_DATA_DIR": str(tmp_path), "PIPECHAT_ARGON2_MEMORY_KIB": "1024"}
    env.pop("PIPECHAT_LOG_FORMAT", None)
    port = free_port()
    terminal = Terminal()
    process = subprocess.Popen([sys.executable, "-m", "pipechat.cli", "serve", "--port",
                                str(port)], env=env, stdout=terminal.follower,
                               stderr=terminal.follower)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        body = {"nickname": "tty", "email": "tty@example.com", "password": PASSWORD}
        token = httpx.post(f"{url}/auth/register/email", json=body).json()["accessToken"]
        asyncio.run(connect_and_leave(url, token))
    finally:
        process.terminate()
        process.wait(15)
    lines = terminal.close().splitlines()
    assert any(" INFO    uvicorn.error: Application startup complete." in line
               for line in lines), lines
    assert any(" INFO    alembic.runtime.migration: Running upgrade" in line for line in lines)
    assert not [line for line in lines if line.startswith("{")]
    # A socket that comes and goes leaves no line at INFO.
    assert not [line for line in lines if "WebSocket" in line or "socket connected" in line]
    assert not [line for line in lines if "Context impl" in line]
