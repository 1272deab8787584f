"""A chat client that follows the README's reconnect recipe, for the fault tests.

It keeps every message it has seen by id, tracks per chat the newest id up to which it has
everything (`previousId` links live messages to it), catches up over REST after each
(re)connect or gap, and re-sends unacknowledged messages with the same `clientMessageId`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import socketio

from support import Account

NAMESPACE = "/chats"


@dataclass
class Outcomes:
    """What happened to this client's sends."""

    acked: dict[str, int] = field(default_factory=dict)  # clientMessageId -> message id
    errors: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # code -> count
    unanswered: int = 0  # timed out or lost with the connection; re-sent later


class RecipeClient:
    """One user's socket that survives server crashes, restarts and outages."""

    def __init__(self, account: Account, urls: list[str], chat_ids: list[int]) -> None:
        self.account = account
        self.urls = urls
        self.chat_ids = chat_ids
        self.seen: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        self.live: set[int] = set()  # ids that arrived as receive_message
        self.contiguous: dict[int, int] = defaultdict(int)
        self._next_of: dict[int, dict[int, int]] = defaultdict(dict)
        self.outcomes = Outcomes()
        self.connects = 0
        self._ready = asyncio.Event()
        self._gone = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._catch_ups: set[asyncio.Task[None]] = set()
        self.api_url = urls[0]
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("receive_message", self._on_message, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)

    # -- connection -------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background, and again after every disconnect."""
        self._task = asyncio.create_task(self._stay_connected())

    async def _stay_connected(self) -> None:
        attempt = 0
        while not self._stopping:
            url = self.urls[attempt % len(self.urls)]
            attempt += 1
            try:
                await self.sio.connect(url, namespaces=[NAMESPACE], transports=["websocket"],
                                       auth={"token": self.account.access_token},
                                       wait_timeout=5)
                await self._resume(url)
            except Exception:
                with contextlib.suppress(Exception):
                    await self.sio.disconnect()
                await asyncio.sleep(0.2)
                continue
            self.connects += 1
            self._gone.clear()
            self._ready.set()
            await self._gone.wait()

    async def _on_disconnect(self, *_args: Any) -> None:
        self._ready.clear()
        self._gone.set()

    async def _resume(self, url: str) -> None:
        """Re-enter every chat, then fetch what was missed while away."""
        ack = await self.sio.call("enter_chat", {"chatIds": self.chat_ids}, namespace=NAMESPACE,
                                  timeout=5)
        if ack.get("status") != "ok":
            raise RuntimeError(f"enter_chat failed: {ack}")
        self.api_url = url
        for chat_id in self.chat_ids:
            await self.catch_up(chat_id)

    # -- receiving --------------------------------------------------------------------------
    async def _on_message(self, message: dict[str, Any]) -> None:
        self.live.add(message["id"])
        await self._take(message)

    async def _take(self, message: dict[str, Any]) -> None:
        if not self._apply_live(message):
            task = asyncio.create_task(self._catch_up_quietly(message["chatId"]))
            self._catch_ups.add(task)
            task.add_done_callback(self._catch_ups.discard)

    def _apply_live(self, message: dict[str, Any]) -> bool:
        """Store a live message; False when it reveals a gap before it."""
        chat_id, message_id = message["chatId"], message["id"]
        self.seen[chat_id][message_id] = message
        self._next_of[chat_id][message.get("previousId") or 0] = message_id
        self._advance(chat_id)
        return message_id <= self.contiguous[chat_id]

    def _advance(self, chat_id: int) -> None:
        links = self._next_of[chat_id]
        while self.contiguous[chat_id] in links:
            self.contiguous[chat_id] = links.pop(self.contiguous[chat_id])

    async def _catch_up_quietly(self, chat_id: int) -> None:
        with contextlib.suppress(Exception):
            await self.catch_up(chat_id)

    async def catch_up(self, chat_id: int, api_url: str | None = None) -> None:
        """Fetch everything after the contiguous point, following `next`."""
        url: str | None = (f"{api_url or self.api_url}/chats/{chat_id}/messages?take=100"
                           f"&where__id__more_than={self.contiguous[chat_id]}")
        async with httpx.AsyncClient(timeout=10, headers=self.account.bearer) as http:
            while url:
                response = await http.get(url)
                response.raise_for_status()
                page = response.json()
                for message in page["data"]:
                    self.seen[chat_id][message["id"]] = message
                    self.contiguous[chat_id] = max(self.contiguous[chat_id], message["id"])
                url = page["next"]
        self._advance(chat_id)

    # -- sending ----------------------------------------------------------------------------
    async def send_all(self, chat_id: int, count: int, prefix: str,
                       pause: float = 0.01) -> None:
        """Send `count` messages, each until acknowledged, re-sending with the same id."""
        for index in range(count):
            client_message_id = f"{prefix}-{index}"
            while client_message_id not in self.outcomes.acked:
                await self._send_once(chat_id, client_message_id)
            await asyncio.sleep(pause)

    async def _send_once(self, chat_id: int, client_message_id: str) -> None:
        await asyncio.wait_for(self._ready.wait(), 60)
        payload = {"chatId": chat_id, "message": f"text of {client_message_id}",
                   "clientMessageId": client_message_id}
        try:
            ack = await self.sio.call("send_message", payload, namespace=NAMESPACE, timeout=5)
        except Exception:
            self.outcomes.unanswered += 1
            await asyncio.sleep(0.1)
            return
        if ack.get("status") == "ok":
            self.outcomes.acked[client_message_id] = ack["data"]["id"]
            await self._take(ack["data"])
        else:
            self.outcomes.errors[ack["code"]] += 1
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """Disconnect for good."""
        self._stopping = True
        self._gone.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.gather(*self._catch_ups, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
