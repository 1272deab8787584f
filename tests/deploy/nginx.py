"""Debian's nginx as an unprivileged child process, serving deploy/nginx/pipechat.conf."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support import REQUIRE_SERVICES, free_port

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "deploy" / "nginx" / "pipechat.conf"
# The address the request came from, then every upstream nginx tried, in order.
LOG_FORMAT = "$remote_addr|$upstream_addr|$status|$request_method $uri"
UPSTREAM_SERVER = re.compile(r"^(\s*)server 127\.0\.0\.1:\d+( .*)?;$", re.MULTILINE)

MAIN_CONFIG = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log notice;
{user}
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    log_format routes '{log_format}';
    access_log {dir}/access.log routes;
    include {dir}/pipechat.conf;
}}
"""


def need_nginx() -> str:
    """The nginx binary: a skip when it is missing, a failure when CI requires it."""
    chosen = os.environ.get("PIPECHAT_TEST_NGINX")
    # /usr/sbin is not on a non-root PATH on Debian.
    candidates = [chosen] if chosen else [shutil.which("nginx"), "/usr/sbin/nginx"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    reason = f"no nginx at {chosen}" if chosen else (
        "nginx is not installed: apt-get install nginx (or set PIPECHAT_TEST_NGINX)")
    if REQUIRE_SERVICES:
        pytest.fail(reason)
    pytest.skip(reason)


def render_site(listen_port: int, upstream_ports: list[int]) -> str:
    """deploy/nginx/pipechat.conf with this test's loopback ports, nothing else changed."""
    text, listens = re.subn(r"^(\s*)listen 80;$", rf"\g<1>listen 127.0.0.1:{listen_port};",
                            SITE.read_text(), flags=re.MULTILINE)
    ports = iter(upstream_ports)
    text, servers = UPSTREAM_SERVER.subn(
        lambda line: f"{line[1]}server 127.0.0.1:{next(ports)}{line[2] or ''};", text)
    # The template changed shape: update this test together with it.
    assert (listens, servers) == (1, len(upstream_ports)), (listens, servers)
    return text


@dataclass
class Route:
    """One access-log line: where a request came from and which upstreams it went to."""

    source: str
    upstreams: list[int]
    status: str
    request: str


class Nginx:
    """nginx in the foreground in its own directory, in front of loopback upstreams."""

    def __init__(self, binary: str, directory: Path, upstream_ports: list[int],
                 port: int | None = None) -> None:
        self.binary = binary
        self.directory = directory
        self.upstream_ports = upstream_ports
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15) -> Nginx:
        """Write the configuration, start nginx and wait until it proxies `/healthz`."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "pipechat.conf").write_text(
            render_site(self.port, self.upstream_ports))
        # A root master would hand the workers to `nobody`, who cannot enter pytest's
        # private temp directory; keep them as the user running the tests.
        user = "user root;" if os.geteuid() == 0 else ""
        config = self.directory / "nginx.conf"
        config.write_text(MAIN_CONFIG.format(dir=self.directory, user=user,
                                             log_format=LOG_FORMAT))
        error_log = self.directory / "error.log"
        with open(self.directory / "stderr.log", "ab") as output:
            self.process = subprocess.Popen(
                [self.binary, "-p", str(self.directory), "-c", str(config),
                 "-e", str(error_log)],
                stdin=subprocess.DEVNULL, stdout=output, stderr=output)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {error_log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not answer")

    def stop(self) -> None:
        """Fast shutdown (SIGTERM)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def routes(self) -> list[Route]:
        """Every request logged so far, in the order they finished."""
        path = self.directory / "access.log"
        lines = path.read_text().splitlines() if path.exists() else []
        routes = []
        for line in lines:
            source, upstreams, status, request = line.split("|")
            # "a:p, b:p" when a failed and b answered; the group's name when none was up.
            ports = [int(port) for port in re.findall(r"[\d.]+:(\d+)", upstreams)]
            routes.append(Route(source, ports, status, request))
        return routes

    def upstream_of(self, source: str) -> int:
        """The upstream port nginx sends requests from loopback address `source` to."""
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(transport=transport, timeout=5) as client:
            assert client.get(f"{self.url}/healthz").status_code == 200
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the log line is written after the answer
            for route in reversed(self.routes()):
                if route.source == source:
                    return route.upstreams[-1]
            time.sleep(0.02)
        raise AssertionError(f"no access-log line for {source}")

    def sources_for(self) -> dict[int, str]:
        """A loopback source address per upstream port, found by asking nginx."""
        found: dict[int, str] = {}
        for last in range(2, 255):
            source = f"127.0.0.{last}"
            found.setdefault(self.upstream_of(source), source)
            if len(found) == len(self.upstream_ports):
                return found
        raise AssertionError(f"every address hashed to {list(found)}")
