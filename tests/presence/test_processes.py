"""Typing and presence across two processes behind Redis, and after one is killed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from realtime.peers import Peer
from support import create_chat, register, server_pair

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

GRACE = 1.0
HOST_TTL = 2.0
# The README's bound: a killed process's users are offline within 4/3 of the host TTL (its
# heartbeat key expires, then the next heartbeat of another process sweeps it), plus the
# announcement itself.
BOUND = HOST_TTL * 4 / 3
SETTINGS = {"PIPECHAT_PRESENCE_GRACE_SECONDS": str(GRACE),
            "PIPECHAT_PRESENCE_HOST_TTL_SECONDS": str(HOST_TTL),
            "PIPECHAT_TYPING_TIMEOUT_SECONDS": "1"}


async def test_typing_and_presence_cross_processes(postgres_template: str,
                                                   tmp_path: Path) -> None:
    async with server_pair(postgres_template, tmp_path, **SETTINGS) as (a, b):
        async with httpx.AsyncClient(base_url=a.url, timeout=30) as api:
            alice, bob = [await register(api) for _ in range(2)]
            chat = (await create_chat(api, alice, bob))["id"]
        bob_b = await Peer().connect(b.url, bob.access_token)
        alice_a = await Peer().connect(a.url, alice.access_token)
        alice_b = await Peer().connect(b.url, alice.access_token)
        try:
            came = await bob_b.next("presence")
            assert came["userId"] == alice.id and came["online"] is True
            for peer in (bob_b, alice_a):
                assert (await peer.call("enter_chat", {"chatIds": [chat]}))["status"] == "ok"
            await alice_a.call("typing", {"chatId": chat, "typing": True})
            assert await bob_b.next("typing") == {"chatId": chat, "userId": alice.id,
                                                  "typing": True}
            # Expired by A, which alone knows alice is typing.
            assert (await bob_b.next("typing"))["typing"] is False
            await alice_a.call("typing", {"chatId": chat, "typing": True})
            assert (await bob_b.next("typing"))["typing"] is True
            await alice_a.close()  # typing stops; alice stays online through B
            assert (await bob_b.next("typing"))["typing"] is False
            await asyncio.sleep(GRACE * 2.5)
            assert bob_b.backlog("presence") == 0
            async with httpx.AsyncClient(base_url=a.url, timeout=30) as api:
                seen = (await api.get(f"/users/{alice.id}", headers=bob.bearer)).json()
                assert seen["online"] is True
            await alice_b.close()
            went = await bob_b.next("presence")
            assert went["userId"] == alice.id and went["online"] is False
        finally:
            for peer in (bob_b, alice_a, alice_b):
                await peer.close()


async def test_a_killed_processs_users_go_offline_within_the_bound(
        postgres_template: str, tmp_path: Path) -> None:
    async with server_pair(postgres_template, tmp_path, **SETTINGS) as (a, b), \
            httpx.AsyncClient(base_url=b.url, timeout=30) as api:
            alice, bob = [await register(api) for _ in range(2)]
            await create_chat(api, alice, bob)
            bob_b = await Peer(["polling"]).connect(b.url, bob.access_token)
            alice_a = Peer()
            await alice_a.connect(a.url, alice.access_token)
            try:
                assert (await bob_b.next("presence"))["online"] is True
                killed_at = time.monotonic()
                a.kill()
                went = await bob_b.next("presence")
                elapsed = time.monotonic() - killed_at
                assert went["userId"] == alice.id and went["online"] is False
                # One second of slack for the announcement and this machine's noise.
                assert elapsed < BOUND + 1.0, elapsed
                seen = (await api.get(f"/users/{alice.id}", headers=bob.bearer)).json()
                assert seen["online"] is False
            finally:
                for peer in (bob_b, alice_a):
                    await peer.close()
