"""CPU per Redis pub/sub message in redis-py, as pipechat's room channels use it.

    .venv/bin/python bench/pubsub_costs.py [--redis redis://127.0.0.1:6379/0] [--messages N]

Receiving: a child process publishes N frames of 300 bytes in pipelines; this process reads
them through redis-py's PubSub (`parse_response`, as realtime/roomcast/subscriptions.py does),
in RESP2 and RESP3. Publishing: N `SPUBLISH` one awaited call at a time, and in pipelines of
10 and 100 (realtime/roomcast/outbox.py). Prints process CPU µs per message; whether redis-py
found hiredis decides most of the receiving cost.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.utils import HIREDIS_AVAILABLE

FRAME = b"\x00" + b"x" * 299
PUBLISHER = """
import asyncio, sys
import redis.asyncio as aioredis
async def main() -> None:
    client = aioredis.Redis.from_url(sys.argv[1])
    frame = b"\\x00" + b"x" * (int(sys.argv[4]) - 1)
    for _ in range(0, int(sys.argv[3]), 500):
        async with client.pipeline(transaction=False) as pipe:
            for _ in range(500):
                pipe.execute_command("SPUBLISH", sys.argv[2], frame)
            await pipe.execute()
    await client.aclose()
asyncio.run(main())
"""


def client(url: str, protocol: int) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, protocol=protocol, retry=Retry(NoBackoff(), 0))


async def receive_cost(url: str, protocol: int, count: int) -> float:
    """CPU µs per message read, the publisher being another process."""
    channel = f"bench:costs:{protocol}:{time.time_ns()}"
    pubsub = client(url, protocol).pubsub()
    await pubsub.execute_command("SSUBSCRIBE", channel)
    await pubsub.parse_response(block=True)
    publisher = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PUBLISHER, url, channel, str(count), str(len(FRAME)))
    await pubsub.parse_response(block=True)  # the first message: start counting after it
    started = time.process_time()
    for _ in range(count - 1):
        await pubsub.parse_response(block=True)
    cost = (time.process_time() - started) / (count - 1) * 1e6
    await publisher.wait()
    await pubsub.aclose()
    return cost


async def publish_cost(url: str, batch: int, count: int) -> float:
    """CPU µs per message published, `batch` per round trip (1: one awaited call each)."""
    redis = client(url, 2)
    started = time.process_time()
    for _ in range(0, count, batch):
        if batch == 1:
            await redis.execute_command("SPUBLISH", "bench:costs:nobody", FRAME)
            continue
        async with redis.pipeline(transaction=False) as pipe:
            for _ in range(batch):
                pipe.execute_command("SPUBLISH", "bench:costs:nobody", FRAME)
            await pipe.execute()
    cost = (time.process_time() - started) / count * 1e6
    await redis.aclose()
    return cost


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    print(f"hiredis: {HIREDIS_AVAILABLE}")
    for protocol in (2, 3):
        cost = await receive_cost(args.redis, protocol, args.messages)
        print(f"receive, RESP{protocol}: {cost:.1f} µs CPU per message")
    for batch in (1, 10, 100):
        cost = await publish_cost(args.redis, batch, args.messages // 5 if batch == 1
                                  else args.messages)
        print(f"publish, {batch} per round trip: {cost:.1f} µs CPU per message")


if __name__ == "__main__":
    asyncio.run(main())
