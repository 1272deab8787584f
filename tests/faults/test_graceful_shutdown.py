"""Fault 5: SIGTERM mid-load drains accepted messages, exits 0, and loses nothing."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from faults.conftest import check_nothing_lost, load_with_fault, make_world, server_env, stopping
from pipechat.db import Database
from support import ServerProcess

pytestmark = pytest.mark.slow
PER_CHAT = 40


async def test_sigterm_mid_load_drains_and_exits_cleanly(database_url: str, database: Database,
                                                         tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = ServerProcess(server_env(database_url, tmp_path, PIPECHAT_LOG_LEVEL="INFO"),
                           log_path=log).start()
    with stopping(server):
        world = await make_world(server.url)
        async with load_with_fault(world, [[server.url]] * 3, PER_CHAT) as clients:
            assert server.process is not None
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(server.process.wait, 30)
            stopped_after = time.monotonic() - started
            server.start()
        assert code == 0
        assert stopped_after < 15, stopped_after  # bounded: drain 15 s at most, then uvicorn
        assert "draining before shutdown" in log.read_text()
        await check_nothing_lost(database, clients, server.url)
