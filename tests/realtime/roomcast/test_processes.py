"""Two `pipechat serve` processes: a process hears a room's traffic only while it hosts a member.

Read from each process's own `/metrics` (`pipechat_pubsub_received_total`) and from Redis
(`PUBSUB SHARDNUMSUB` / `NUMSUB`), in sharded and in plain pub/sub.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from realtime.peers import Peer
from support import (
    REDIS_URL,
    Account,
    ServerProcess,
    create_chat,
    need_service,
    register,
    server_pair,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


class Deployment:
    """Processes A and B on one database and one Redis channel prefix."""

    def __init__(self, a: ServerProcess, b: ServerProcess, prefix: str, sharded: bool) -> None:
        self.a, self.b = a, b
        self.prefix = prefix
        self.sharded = sharded
        self.redis = aioredis.Redis.from_url(need_service("redis", REDIS_URL))
        self.peers: list[Peer] = []

    async def connect(self, server: ServerProcess, account: Account) -> Peer:
        self.peers.append(await Peer().connect(server.url, account.access_token))
        return self.peers[-1]

    async def subscribers(self, chat_id: int) -> int:
        """How many processes subscribe to the chat's room channel."""
        command = "SHARDNUMSUB" if self.sharded else "NUMSUB"
        reply = await self.redis.execute_command(  # type: ignore[no-untyped-call]
            "PUBSUB", command, f"{self.prefix}:/chats:{chat_id}")
        return int(reply[1])

    async def close(self) -> None:
        for peer in self.peers:
            await peer.close()
        await self.redis.aclose()


@pytest.fixture(params=["on", "off"])
async def deployment(request: pytest.FixtureRequest, postgres_template: str,
                     tmp_path: Path) -> AsyncIterator[Deployment]:
    prefix = f"pipechat-test-{uuid.uuid4().hex}"
    async with server_pair(postgres_template, tmp_path, PIPECHAT_REDIS_CHANNEL=prefix,
                           PIPECHAT_REDIS_SHARDED=request.param) as (a, b):
        world = Deployment(a, b, prefix=prefix, sharded=request.param == "on")
        try:
            yield world
        finally:
            await world.close()


async def received_from_others(server: ServerProcess) -> float:
    """`pipechat_pubsub_received_total{origin="other"}` of that process."""
    async with httpx.AsyncClient(timeout=30) as http:
        text = (await http.get(f"{server.url}/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (sample.name == "pipechat_pubsub_received_total"
                    and sample.labels.get("origin") == "other"):
                return float(sample.value)
    return 0.0


async def send(peer: Peer, chat_id: int, text: str) -> int:
    ack = await peer.call("send_message", {"chatId": chat_id, "message": text})
    assert ack["status"] == "ok", ack
    return int(ack["data"]["id"])


async def test_a_process_hears_a_room_only_while_it_hosts_a_member(
        deployment: Deployment) -> None:
    a, b = deployment.a, deployment.b
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as api:
        alice, bob, carol = [await register(api) for _ in range(3)]
        room = (await create_chat(api, alice, bob, carol))["id"]
        side = (await create_chat(api, alice, carol))["id"]
    alice_a, bob_a = await deployment.connect(a, alice), await deployment.connect(a, bob)
    carol_b = await deployment.connect(b, carol)
    for peer, chats in ((alice_a, [room, side]), (bob_a, [room]), (carol_b, [side])):
        assert (await peer.call("enter_chat", {"chatIds": chats}))["status"] == "ok"
    assert await deployment.subscribers(room) == 1  # A only: B hosts no member

    async def traffic(count: int) -> None:
        """`count` messages in the room, then one in `side` that carol on B receives."""
        for n in range(count):
            sent = await send(alice_a, room, f"m{n}")
            assert (await bob_a.next("receive_message"))["id"] == sent
        # A publishes in order on one connection, B reads in order: once B delivered this,
        # any room message that reached B would have been read before it.
        barrier = await send(alice_a, side, "barrier")
        assert (await carol_b.next("receive_message"))["id"] == barrier

    before = await received_from_others(b)
    await traffic(20)
    assert await received_from_others(b) == before + 1  # the barrier, nothing of the room
    assert carol_b.backlog("receive_message") == 0

    # carol enters the room on B: B subscribes and hears each message once.
    assert (await carol_b.call("enter_chat", {"chatIds": [room]}))["status"] == "ok"
    assert await deployment.subscribers(room) == 2
    before = await received_from_others(b)
    sent = [await send(alice_a, room, f"live{n}") for n in range(10)]
    assert [(await carol_b.next("receive_message"))["id"] for _ in sent] == sent
    for _ in sent:
        await bob_a.next("receive_message")
    assert await received_from_others(b) == before + 10

    # ... and leaves it: B unsubscribes, the room's traffic stops reaching B.
    assert (await carol_b.call("leave_chat", {"chatIds": [room]}))["status"] == "ok"
    await carol_b.call("enter_chat", {"chatIds": [side]})  # confirmed after the unsubscribe
    assert await deployment.subscribers(room) == 1
    before = await received_from_others(b)
    await traffic(20)
    assert await received_from_others(b) == before + 1
    assert carol_b.backlog("receive_message") == 0


async def test_members_on_both_processes_get_every_message_exactly_once(
        deployment: Deployment) -> None:
    a, b = deployment.a, deployment.b
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as api:
        alice, bob, carol = [await register(api) for _ in range(3)]
        chat = (await create_chat(api, alice, bob, carol))["id"]
    sockets = {"alice_a": await deployment.connect(a, alice),
               "alice_b": await deployment.connect(b, alice),
               "bob_b": await deployment.connect(b, bob),
               "carol_a": await deployment.connect(a, carol)}
    for peer in sockets.values():
        assert (await peer.call("enter_chat", {"chatIds": [chat]}))["status"] == "ok"

    async def burst(name: str) -> list[int]:
        """Sends without waiting for each ack: deliveries from both processes interleave."""
        acks = await asyncio.gather(*(
            sockets[name].call("send_message", {"chatId": chat, "message": f"{name}{n}"})
            for n in range(30)))
        return [int(ack["data"]["id"]) for ack in acks]

    sent = dict(zip(("alice_a", "bob_b"), await asyncio.gather(burst("alice_a"),
                                                               burst("bob_b")), strict=True))
    # A last message from each side, so each socket knows when everything reached it.
    sent["carol_a"] = [await send(sockets["carol_a"], chat, "end A")]
    sent["alice_b"] = [await send(sockets["alice_b"], chat, "end B")]
    every = {message for ids in sent.values() for message in ids}
    for name, peer in sockets.items():
        expected = every - set(sent[name])  # everything but what this very socket sent
        got: list[int] = []
        while not set(sent["carol_a"] + sent["alice_b"]) - set(sent[name]) <= set(got):
            got.append((await peer.next("receive_message"))["id"])
        assert sorted(got) == sorted(expected), name  # each once, none missing
        assert peer.backlog("receive_message") == 0
