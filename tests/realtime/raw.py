"""Raw engine.io / Socket.IO frames over a websocket or long-polling: input no client sends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from realtime.peers import NAMESPACE, WAIT

SOCKETIO_PATH = "/socket.io/?EIO=4&transport="
RECORD_SEPARATOR = "\x1e"  # between the packets of one long-polling body


def ws_url(url: str) -> str:
    """The engine.io websocket endpoint of a server at `url` (http://host:port)."""
    return url.replace("http://", "ws://", 1) + SOCKETIO_PATH + "websocket"


def connect_frame(token: str) -> str:
    """The namespace connect of `/chats` with an access token."""
    return f"40{NAMESPACE}," + json.dumps({"token": token})


class RawSocket:
    """One engine.io connection over a websocket, spoken frame by frame."""

    def __init__(self, ws: ClientConnection, handshake: dict[str, Any]) -> None:
        self.ws = ws
        self.handshake = handshake

    @classmethod
    async def open(cls, url: str, headers: dict[str, str] | None = None,
                   **options: Any) -> RawSocket:
        """Open the websocket and read engine.io's OPEN packet."""
        ws = await connect(ws_url(url), additional_headers=headers, open_timeout=WAIT,
                           **options)
        first = await asyncio.wait_for(ws.recv(), WAIT)
        assert isinstance(first, str) and first.startswith("0"), first
        return cls(ws, json.loads(first[1:]))

    async def send(self, frame: str | bytes) -> None:
        """Send one frame as is."""
        await self.ws.send(frame)

    async def recv(self) -> str | bytes:
        """The next frame that is not an engine.io ping (pings are answered)."""
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), WAIT)
            if frame == "2":
                await self.ws.send("3")
                continue
            return frame

    async def connect_chats(self, token: str) -> dict[str, Any]:
        """Connect to `/chats`; returns the CONNECT packet's data (`{sid}`)."""
        await self.send(connect_frame(token))
        reply = await self.recv()
        prefix = f"40{NAMESPACE},"
        assert isinstance(reply, str) and reply.startswith(prefix), reply
        data: dict[str, Any] = json.loads(reply[len(prefix):])
        return data

    async def until_closed(self) -> list[str | bytes]:
        """Every frame the server sends until it closes the connection (a ceiling: WAIT)."""
        frames: list[str | bytes] = []
        async with asyncio.timeout(WAIT):
            try:
                while True:
                    frames.append(await self.ws.recv())
            except ConnectionClosed:
                return frames

    async def close(self) -> None:
        """Close from this side (no-op when closed already)."""
        await self.ws.close()


class RawPolling:
    """One engine.io connection over HTTP long-polling, request by request."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.sid = ""

    async def open(self, headers: dict[str, str] | None = None) -> httpx.Response:
        """The handshake GET; remembers the session id."""
        response = await self.http.get(SOCKETIO_PATH + "polling", headers=headers, timeout=WAIT)
        if response.status_code == 200:
            self.sid = json.loads(response.text.split(RECORD_SEPARATOR)[0][1:])["sid"]
        return response

    async def post(self, *packets: str, body: bytes | None = None) -> httpx.Response:
        """POST engine.io packets (or a raw body) to the session."""
        content = body if body is not None else RECORD_SEPARATOR.join(packets).encode()
        return await self.http.post(f"{SOCKETIO_PATH}polling&sid={self.sid}", content=content,
                                    headers={"Content-Type": "text/plain"}, timeout=WAIT)

    async def get(self) -> httpx.Response:
        """One long-polling GET (parked by the server until something is queued)."""
        return await self.http.get(f"{SOCKETIO_PATH}polling&sid={self.sid}", timeout=WAIT + 30)


def packets_of(response: httpx.Response) -> list[str]:
    """The engine.io packets of a long-polling answer."""
    return response.text.split(RECORD_SEPARATOR) if response.text else []


def socketio_event(frame: str | bytes) -> tuple[str, int | None, Any]:
    """(kind, ack id, data) of a `/chats` EVENT or ACK frame: kind is "event" or "ack"."""
    assert isinstance(frame, str), frame
    for kind, prefix in (("event", f"42{NAMESPACE},"), ("ack", f"43{NAMESPACE},")):
        if frame.startswith(prefix):
            rest = frame[len(prefix):]
            digits = len(rest) - len(rest.lstrip("0123456789"))
            ack_id = int(rest[:digits]) if digits else None
            return kind, ack_id, json.loads(rest[digits:])
    raise AssertionError(f"not a {NAMESPACE} event or ack: {frame[:80]!r}")
