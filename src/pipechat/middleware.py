"""Pure-ASGI guards in front of the REST app: request body size and allowed Host headers.

Pure ASGI rather than Starlette's `BaseHTTPMiddleware`: they see each body chunk as uvicorn
hands it over (uvicorn itself holds at most about 64 KiB before the app reads), so an
over-size body is refused before anything buffers it.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipechat.errors import ChatError, ErrorCode, validation_error


class BodyTooLargeError(Exception):
    """Raised from `receive` to stop the app reading a body over the limit."""


async def send_error(send: Send, error: ChatError) -> None:
    """Answer with `error`'s REST body."""
    body = orjson.dumps(error.rest_body())
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": int(error.status), "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _declared_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    if value is None or not value.isdigit():
        return None  # chunked (or left to the server to refuse): counted as it arrives
    return int(value)


class BodyLimitMiddleware:
    """Refuses a request body over `max_bytes` with 413 (code 107).

    A declared `Content-Length` is checked before the app runs; a chunked body is counted
    as it streams and cut at the limit. Either way the app's own answer to the cut body is
    replaced by the 413. The connection stays open: uvicorn discards the rest of a body once
    the answer is sent (nothing is kept), and closing a socket with unread data would reset
    it, which can destroy the 413 before the client reads it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _error(self) -> ChatError:
        return ChatError(ErrorCode.REQUEST_TOO_LARGE,
                         f"the request body is larger than {self.max_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await send_error(send, self._error())
            return
        state = {"received": 0, "cut": False, "started": False}

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_bytes:
                    state["cut"] = True
                    raise BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            if state["cut"]:
                return  # the app's answer to a cut body (say, a parse error) is not sent
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not state["cut"]:
                raise
        if state["cut"] and not state["started"]:
            await send_error(send, self._error())


def host_matches(host: str, allowed: list[str]) -> bool:
    """Whether `host` (no port, lower case) is one of `allowed` ("*.example.com" = subdomains)."""
    for pattern in allowed:
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


def _host_name(header: bytes | None) -> str:
    host = (header or b"").decode("latin-1").strip().lower()
    if host.startswith("["):  # IPv6 literal, "[::1]:8000"
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


class AllowedHostsMiddleware:
    """Refuses requests whose `Host` header is not allowed, with 400 (code 103).

    The Host header is where absolute links (pagination's `next`) take their base when
    `PIPECHAT_PUBLIC_BASE_URL` is unset; an allow-list keeps a forged one from being echoed.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed_hosts = [host.lower() for host in allowed_hosts]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not host_matches(_host_name(_header(scope, b"host")),
                                                        self.allowed_hosts):
            await send_error(send, validation_error("the Host header names a host this "
                                                    "server does not serve"))
            return
        await self.app(scope, receive, send)

