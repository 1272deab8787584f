"""Malformed input floods neither the log nor its format: short JSON lines, throttled."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from pipechat.realtime.transportlog import LogThrottle, TransportLogFilter, transport_loggers
from realtime.peers import NAMESPACE
from realtime.raw import RawSocket
from support import TEST_SECRET, ServerProcess, register

FLOOD = 2000
MALFORMED = [
    f'42{NAMESPACE},{{"not":"a list"}}',
    f"42{NAMESPACE},[]",
    f"42{NAMESPACE},[123]",
    f'42{NAMESPACE},["send_message",',
    f"42{NAMESPACE},7[null]",
]
# Each of these ends its connection: a few connections send one each.
FATAL = [f"42{NAMESPACE},[]", "42[]", "4x", "x", "", '459999999999-["x",{"_placeholder":true}]']
TRANSPORT_LOGGERS = {"engineio.server", "socketio.server", "pipechat.transport"}


def test_throttle_lets_one_line_per_kind_through_and_counts_the_rest() -> None:
    throttle = LogThrottle(interval=3600)
    assert throttle.admit("a") == 0
    assert [throttle.admit("a") for _ in range(5)] == [None] * 5
    assert throttle.admit("b") == 0
    zero = LogThrottle(interval=0)
    assert zero.admit("a") == 0 and zero.admit("a") == 0


def test_transport_loggers_print_no_traceback_and_no_packet_data(
        caplog: pytest.LogCaptureFixture) -> None:
    socketio_logger, engineio_logger = transport_loggers("DEBUG")
    assert engineio_logger.name == "engineio.server" and socketio_logger.name == "socketio.server"
    assert engineio_logger.getEffectiveLevel() == logging.WARNING  # INFO logs packet data
    assert engineio_logger.handlers == [] and engineio_logger.propagate
    assert sum(isinstance(f, TransportLogFilter) for f in engineio_logger.filters) == 1
    assert transport_loggers("ERROR")[1].level == logging.ERROR
    transport_loggers("INFO")
    with caplog.at_level(logging.WARNING):
        try:
            raise KeyError("secret text")
        except KeyError:
            for _ in range(50):
                engineio_logger.exception("Unknown receive error " + "x" * 500)
    (record,) = [r for r in caplog.records if r.name == "engineio.server"]
    assert record.exc_info is None and record.error == "KeyError"  # type: ignore[attr-defined]
    assert len(record.getMessage()) <= 200


async def send_all(raw: RawSocket, frames: list[str]) -> None:
    for n in range(FLOOD):
        await raw.send(frames[n % len(frames)])


async def test_a_flood_of_malformed_frames_logs_a_few_json_lines(tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    env = {"PIPECHAT_DATA_DIR": str(tmp_path), "PIPECHAT_JWT_SECRET": TEST_SECRET,
           "PIPECHAT_ARGON2_TIME_COST": "1", "PIPECHAT_ARGON2_MEMORY_KIB": "1024"}
    server = ServerProcess(env, log_path=log_path).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            account = await register(http)
        raw = await RawSocket.open(server.url)
        await raw.connect_chats(account.access_token)
        await send_all(raw, MALFORMED)
        # The server answers every frame (103, then 105 once the rate limit is reached).
        await raw.send(f'42{NAMESPACE},999999["leave_chat",{{"chatIds":[1]}}]')
        replies = 0
        while not str(await raw.recv()).startswith(f"43{NAMESPACE},999999"):
            replies += 1
        assert replies == FLOOD
        await raw.close()
        for frame in FATAL * 5:
            stranger = await RawSocket.open(server.url)
            await stranger.send(frame)
            await stranger.until_closed()
        await asyncio.sleep(0.2)
    finally:
        assert server.stop() == 0
    text = log_path.read_text()
    lines: list[dict[str, Any]] = [orjson.loads(line) for line in text.splitlines()]
    assert "Traceback" not in text
    about = [line for line in lines
             if line["logger"] in TRANSPORT_LOGGERS or line["level"] in ("ERROR", "CRITICAL")]
    assert 1 <= len(about) <= 15, about
