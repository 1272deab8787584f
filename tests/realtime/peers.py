"""A python-socketio client on `/chats` that records every event it receives."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import socketio

NAMESPACE = "/chats"
WAIT = 20.0  # a ceiling for a hung server, never a measured duration


class Peer:
    """One socket of one user; `received(event)` yields its events in arrival order."""

    def __init__(self, transports: list[str] | None = None) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.transports = transports or ["websocket"]
        self._events: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)

        @self.client.on("*", namespace=NAMESPACE)
        async def _record(event: str, *args: Any) -> None:
            self._events[event].put_nowait(args[0] if len(args) == 1 else args)

        @self.client.on("connect_error", namespace=NAMESPACE)
        async def _refused(data: Any = None) -> None:
            self._events["connect_error"].put_nowait(data)

        @self.client.on("disconnect", namespace=NAMESPACE)
        async def _gone(reason: Any = None) -> None:
            self._events["disconnect"].put_nowait(reason)

    async def connect(self, url: str, token: str | None = None, *,
                      headers: dict[str, str] | None = None, auth: Any = None) -> Peer:
        """Connect with `auth={token}` (or the given auth/headers)."""
        if auth is None and token is not None:
            auth = {"token": token}
        await self.client.connect(url, namespaces=[NAMESPACE], transports=self.transports,
                                  auth=auth, headers=headers or {}, wait_timeout=WAIT)
        return self

    async def call(self, event: str, *args: Any) -> Any:
        """Emit with an ack callback and return the ack."""
        return await self.client.call(event, args[0] if len(args) == 1 else args,
                                      namespace=NAMESPACE, timeout=WAIT)

    async def emit(self, event: str, *args: Any) -> None:
        """Emit without an ack callback."""
        data = args[0] if len(args) == 1 else (args if args else None)
        await self.client.emit(event, data, namespace=NAMESPACE)

    async def next(self, event: str) -> Any:
        """The next `event` this socket received (waits for it)."""
        return await asyncio.wait_for(self._events[event].get(), WAIT)

    def backlog(self, event: str) -> int:
        """How many `event`s arrived and were not taken yet."""
        return self._events[event].qsize()

    async def close(self) -> None:
        """Disconnect if connected."""
        if self.client.connected:
            await self.client.disconnect()


async def make_chat(owner: Peer, *user_ids: int) -> int:
    """Create a chat through `create_chat` and return its id."""
    ack = await owner.call("create_chat", {"userIds": list(user_ids)})
    assert ack["status"] == "ok", ack
    chat_id = int(ack["data"]["id"])
    await owner.next("chat_created")
    return chat_id
