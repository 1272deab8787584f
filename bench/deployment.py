"""What one workload runs against: one server process, or several pipechat processes sharing
a database, a JWT secret and a Redis channel of their own (workload (e))."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from servers import BenchUser, Server, commit_figures


@dataclass
class Deployment:
    """`processes` servers of `kind`; with more than one, every pipechat setting they must share
    is shared and `redis_url` is required."""

    kind: str
    processes: int = 1
    http_server: str = "uvicorn"
    postgres_admin_url: str | None = None
    redis_url: str | None = None
    servers: list[Server] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.processes > 1 and (self.kind != "pipechat" or not self.redis_url):
            raise ValueError("several processes need pipechat and a Redis URL")

    def _env(self) -> dict[str, str]:
        if not self.redis_url:
            return {}
        # A channel per deployment: concurrent runs on one Redis never see each other's traffic
        # (the Redis-backed throttle counters live under it too).
        return {"PIPECHAT_REDIS_URL": self.redis_url,
                "PIPECHAT_REDIS_CHANNEL": f"bench-{secrets.token_hex(8)}",
                "PIPECHAT_JWT_SECRET": secrets.token_urlsafe(48)}

    def start(self) -> Deployment:
        """Start the first server (it migrates the database), then the others at once."""
        env = self._env()
        first = Server(self.kind, http_server=self.http_server,
                       postgres_admin_url=self.postgres_admin_url, extra_env=env)
        self.servers.append(first)
        first.start()
        others = [Server(self.kind, http_server=self.http_server,
                         shared_database_url=first.database_url, extra_env=env)
                  for _ in range(1, self.processes)]
        self.servers.extend(others)
        _each(Server.start, others)
        return self

    def stop(self, keep: bool = False) -> None:
        """Stop the servers, the first (which owns the database) last; remove their files."""
        _each(Server.stop, self.servers[1:])
        _each(Server.stop, self.servers[:1])
        if not keep:
            for server in self.servers:
                shutil.rmtree(server.workdir, ignore_errors=True)

    @property
    def urls(self) -> list[str]:
        """The servers' base URLs, in start order."""
        return [server.url for server in self.servers]

    @property
    def pids(self) -> list[int]:
        """The servers' process ids."""
        return [server.process.pid for server in self.servers if server.process is not None]

    @property
    def database(self) -> str | None:
        """`sqlite` or `postgresql` (None for the baseline, which has no database)."""
        if self.kind == "baseline":
            return None
        return "postgresql" if self.postgres_admin_url else "sqlite"

    def make_users(self, count: int, prefix: str) -> list[BenchUser]:
        """Users registered through the first server (they are the same on every one)."""
        return self.servers[0].make_users(count, prefix)

    def count_saved(self, chat_ids: list[int]) -> int | None:
        """Rows saved for these chats, in the shared database."""
        return self.servers[0].count_saved(chat_ids)

    def commit_figures(self) -> dict[str, float]:
        """Group-commit means over every server's batches."""
        return commit_figures([server.commit_sums() for server in self.servers])

    def log_tail(self) -> str:
        """The end of each server's output."""
        return "\n".join(f"-- server {i} ({server.url})\n{server.log_tail()}"
                         for i, server in enumerate(self.servers))


def _each(action: Callable[[Server], object], servers: list[Server]) -> None:
    """`action` on every server in parallel (starting and stopping take seconds each)."""
    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        list(pool.map(action, servers))
