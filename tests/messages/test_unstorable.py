"""One user's unstorable text never fails another user's messages (real server process).

The official clients cannot send a lone surrogate (they refuse to encode it), so the bad
texts travel as raw Socket.IO frames over a plain websocket, with the JSON escape `\\ud800`
that is valid JSON and that python-socketio's stdlib fallback decodes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from realtime.peers import Peer
from support import TEST_SECRET, Account, ServerProcess, create_chat, register

# Raw JSON texts: each is valid JSON and none can be stored as it is.
BAD_TEXTS = [r'"x\ud800"', r'"\udfff tail"', r'"nul \u0000 inside"']
INNOCENT_SENDS = 40


POSTGRES_ONLY = pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])


@asynccontextmanager
async def serving(database_url: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """A `pipechat serve` child on the test's database, logging to tmp_path/server.log."""
    server = ServerProcess({
        "PIPECHAT_DATABASE_URL": database_url, "PIPECHAT_DATA_DIR": str(tmp_path),
        "PIPECHAT_JWT_SECRET": TEST_SECRET, "PIPECHAT_ARGON2_TIME_COST": "1",
        "PIPECHAT_ARGON2_MEMORY_KIB": "1024", "PIPECHAT_RATE_LIMIT_PER_SECOND": "1000",
        "PIPECHAT_RATE_LIMIT_BURST": "1000", "PIPECHAT_LOG_LEVEL": "INFO",
    }, log_path=tmp_path / "server.log")
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture
async def server_process(database_url: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """A `pipechat serve` child on the test's database."""
    async with serving(database_url, tmp_path) as server:
        yield server


class RawSocket:
    """Socket.IO v5 spoken by hand over one websocket, on `/chats`."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket

    @classmethod
    async def open(cls, url: str, token: str) -> RawSocket:
        """Open the engine.io session and connect to `/chats` with `token`."""
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        raw = cls(await connect(ws_url))
        assert str(await raw.websocket.recv()).startswith("0")  # engine.io open
        await raw.websocket.send("40/chats," + orjson.dumps({"token": token}).decode())
        assert (await raw.next_packet()).startswith("0/chats,{")
        return raw

    async def next_packet(self) -> str:
        """The next Socket.IO packet, answering engine.io pings on the way."""
        while True:
            frame = str(await asyncio.wait_for(self.websocket.recv(), 20))
            if frame == "2":
                await self.websocket.send("3")
                continue
            return frame[1:]  # drop the engine.io "message" type

    async def acks(self, count: int) -> dict[int, Any]:
        """The next `count` acknowledgements, by ack id."""
        found: dict[int, Any] = {}
        while len(found) < count:
            packet = await self.next_packet()
            if packet.startswith("3/chats,"):
                body = packet[len("3/chats,"):]
                split = body.index("[")
                found[int(body[:split])] = orjson.loads(body[split:])[0]
        return found


async def test_a_burst_with_unstorable_texts_fails_only_their_sender(
        server_process: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server_process.url, timeout=30) as api:
        innocent, attacker = await register(api), await register(api)
        chat_id = (await create_chat(api, innocent, attacker))["id"]
    raw = await RawSocket.open(server_process.url, attacker.access_token)
    peer = await Peer().connect(server_process.url, innocent.access_token)
    try:
        sends = [asyncio.create_task(peer.call(
            "send_message", {"chatId": chat_id, "message": f"innocent {n}"}))
            for n in range(INNOCENT_SENDS)]
        frames = [f'42/chats,{n}["send_message",{{"chatId":{chat_id},"message":{text}}}]'
                  for n, text in enumerate(BAD_TEXTS * 4)]
        for frame in frames:
            await raw.websocket.send(frame)
            await asyncio.sleep(0)
        refused = await raw.acks(len(frames))
        innocent_acks = await asyncio.gather(*sends)
    finally:
        await peer.close()
        await raw.websocket.close()
    assert [ack["status"] for ack in innocent_acks] == ["ok"] * INNOCENT_SENDS, innocent_acks
    assert {ack["code"] for ack in refused.values()} == {103}, refused
    assert all("message" in ack["message"] for ack in refused.values())
    await assert_history(server_process.url, innocent, chat_id)


async def assert_history(url: str, reader: Account, chat_id: int) -> None:
    """Only the innocent texts were stored, in order."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as api:
        page = (await api.get(f"/chats/{chat_id}/messages?take=100",
                              headers=reader.bearer)).json()
    assert [m["message"] for m in page["data"]] == [
        f"innocent {n}" for n in range(INNOCENT_SENDS)]


@POSTGRES_ONLY
async def test_a_batch_failing_on_the_database_logs_no_text(database_url: str,
                                                             tmp_path: Path) -> None:
    # A column narrower than the texts makes PostgreSQL itself refuse one message
    # (SQLSTATE 22001), in the middle of a batch of other users' messages.
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute("ALTER TABLE messages ALTER COLUMN message TYPE varchar(40)")
    finally:
        await admin.close()
    poison = "RECOGNISABLE poison " + "p" * 40
    async with serving(database_url, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
            innocent, other = await register(api), await register(api)
            chat_id = (await create_chat(api, innocent, other))["id"]
        peers = [await Peer().connect(server.url, account.access_token)
                 for account in (innocent, other)]
        try:
            sends = [peers[0].call("send_message", {"chatId": chat_id,
                                                    "message": f"RECOGNISABLE innocent {n}"})
                     for n in range(INNOCENT_SENDS)]
            sends.insert(INNOCENT_SENDS // 2, peers[1].call(
                "send_message", {"chatId": chat_id, "message": poison}))
            acks = await asyncio.gather(*sends)
        finally:
            for peer in peers:
                await peer.close()
    refused = acks.pop(INNOCENT_SENDS // 2)
    assert refused["status"] == "error" and refused["code"] == 103, refused
    assert [ack["status"] for ack in acks] == ["ok"] * INNOCENT_SENDS, acks
    log = (tmp_path / "server.log").read_text()
    assert "could not be stored" in log  # the failure was logged...
    assert "RECOGNISABLE" not in log  # ...without the texts of its batch
