"""`/metrics` on a listener of its own (PIPECHAT_METRICS_PORT), off the public port.

prometheus_client's WSGI app served by the standard library's threaded WSGI server: it keeps
answering while the event loop is busy, and is bound to PIPECHAT_METRICS_HOST (loopback by
default) so only the machine or a private network can scrape it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import orjson
from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app
from prometheus_client.metrics_core import Metric

from pipechat.context import AppContext
from pipechat.errors import ChatError, ErrorCode
from pipechat.health.router import metrics_token_matches, refresh_probes

log = logging.getLogger("pipechat.metrics")
PROBE_SECONDS = 5.0  # above the probes' own timeouts (2 s database, 1 s Redis)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _ProbingCollector:
    """Every metric of the process, after probing the database and Redis on the serving loop."""

    def __init__(self, context: AppContext, loop: asyncio.AbstractEventLoop) -> None:
        self._context = context
        self._loop = loop

    def collect(self) -> Iterator[Metric]:
        """Called in the listener's thread for each scrape."""
        try:
            asyncio.run_coroutine_threadsafe(refresh_probes(self._context),
                                             self._loop).result(PROBE_SECONDS)
        except Exception:  # the loop is closing or stalled: report the last values
            log.warning("metrics probes did not finish")
        yield from REGISTRY.collect()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Not a line per scrape on stderr (and not a plain-text one)."""


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _guarded(app: WsgiApp, context: AppContext) -> WsgiApp:
    """`app` behind PIPECHAT_METRICS_TOKEN, as on the main port."""
    refusal = ChatError(ErrorCode.UNAUTHENTICATED,
                        "metrics need 'Authorization: Bearer <PIPECHAT_METRICS_TOKEN>'")

    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if metrics_token_matches(environ.get("HTTP_AUTHORIZATION"),
                                 context.settings.metrics_token):
            return app(environ, start_response)
        start_response("401 Unauthorized", [("Content-Type", "application/json")])
        return [orjson.dumps(refusal.rest_body())]

    return guarded


class MetricsListener:
    """The separate metrics listener of one process: started and stopped by the lifespan."""

    def __init__(self, context: AppContext) -> None:
        self._context = context
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port bound (useful when configured as 0)."""
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind PIPECHAT_METRICS_HOST:PIPECHAT_METRICS_PORT and serve in a daemon thread."""
        settings = self._context.settings
        assert settings.metrics_port is not None
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_ProbingCollector(self._context, asyncio.get_running_loop()))
        server_class = type("MetricsServer", (_Server,), {
            "address_family": socket.AF_INET6 if ":" in settings.metrics_host
            else socket.AF_INET})
        server = server_class((settings.metrics_host, settings.metrics_port), _QuietHandler)
        server.set_app(_guarded(make_wsgi_app(registry), self._context))
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="pipechat-metrics",
                                        daemon=True)
        self._thread.start()
        log.info("metrics listener started",
                 extra={"host": settings.metrics_host, "port": self.port})

    async def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        server, self._server = self._server, None
        # shutdown() waits for serve_forever to return: off the loop, which scrapes may need.
        await asyncio.to_thread(server.shutdown)
        server.server_close()
