"""History pages on one chat of 1,000,000 messages: query plans and endpoint latency.

Creates a scratch PostgreSQL database, starts `pipechat serve` on it, writes 1,000,000
messages of 10 other chats and then one chat of 1,000,000 messages (generate_series INSERTs),
prints `EXPLAIN (ANALYZE, BUFFERS)` of the exact SQL `GET /chats/{cid}/messages` runs for a
few pages, then times many sequential requests per page against the real endpoint
(keep-alive, loopback) and prints p50/p99. `/healthz` is timed the same way as the floor of
HTTP + client overhead. The database is dropped at the end.

    .venv/bin/python bench/history_explain.py [--admin-url URL] [--messages N] [--others N]
        [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from urllib.parse import urlencode

import asyncpg
import httpx
from history_setup import create_chat, create_database, drop_database, register, server_process
from sqlalchemy.dialects import postgresql

from pipechat.messages.service import select_chat_messages
from pipechat.pagination import PageQuery

# Other chats' traffic first, then the measured chat's: the table then holds more than the
# one chat, as a real one does, and the planner has a real choice of index to make.
FILL_OTHERS = """
INSERT INTO messages (chat_id, author_id, message, created_at, updated_at)
SELECT ($1::int[])[1 + g % array_length($1::int[], 1)], $2::int, 'other ' || g, now(), now()
FROM generate_series(1, $3::int) AS g
"""
FILL = """
INSERT INTO messages (chat_id, author_id, message, created_at, updated_at)
SELECT $1::int, CASE WHEN g % 3 = 0 THEN $2::int ELSE $3::int END, 'message number ' || g,
       now() - make_interval(secs => $4::int - g), now() - make_interval(secs => $4::int - g)
FROM generate_series(1, $4::int) AS g
"""

def pages(first_id: int, last_id: int, last_page_after: int) -> dict[str, dict[str, object]]:
    """The query parameters of each page measured."""
    middle = (first_id + last_id) // 2
    return {
        "middle, DESC, where__id__less_than": {"order__createdAt": "DESC",
                                               "where__id__less_than": middle, "take": 50},
        "first page (ASC)": {"take": 50},
        "last page (ASC, where__id__more_than)": {"where__id__more_than": last_page_after,
                                                  "take": 50},
        "newest page (DESC)": {"order__createdAt": "DESC", "take": 50},
    }


def page_sql(chat_id: int, params: dict[str, object]) -> str:
    """The endpoint's SQL for these parameters, with literal values for EXPLAIN."""
    statement = select_chat_messages(chat_id, PageQuery.model_validate(params), "postgresql")
    return str(statement.compile(dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
                                 compile_kwargs={"literal_binds": True}))


async def explain(url: str, chat_id: int, cases: dict[str, dict[str, object]]) -> None:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        for label, params in cases.items():
            sql = page_sql(chat_id, params)
            plan = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            print(f"\n### {label}: {urlencode(params)}\n{sql}\n")
            print("\n".join(row[0] for row in plan))
    finally:
        await connection.close()


async def timings(api: httpx.AsyncClient, path: str, headers: dict[str, str],
                  requests: int) -> list[float]:
    for _ in range(min(50, requests)):  # warm the pools and caches
        (await api.get(path, headers=headers)).raise_for_status()
    spent = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await api.get(path, headers=headers)
        spent.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return spent


def summary(label: str, spent: list[float]) -> str:
    cut = statistics.quantiles(spent, n=100)
    return (f"| {label} | {len(spent)} | {statistics.median(spent):.2f} | {cut[98]:.2f} | "
            f"{statistics.fmean(spent):.2f} |")


async def run(args: argparse.Namespace) -> None:
    url = await create_database(args.admin_url, "pipechat_bench_history")
    try:
        with server_process(url) as base:
            async with httpx.AsyncClient(base_url=base, timeout=60) as api:
                owner, friend = await register(api), await register(api)
                chat_id = await create_chat(api, owner, friend)
                others = [await create_chat(api, owner, friend) for _ in range(10)]
                connection = await asyncpg.connect(url)
                try:
                    started = time.perf_counter()
                    await connection.execute(FILL_OTHERS, others, owner.id, args.others)
                    await connection.execute(FILL, chat_id, owner.id, friend.id, args.messages)
                    await connection.execute("VACUUM ANALYZE messages")
                    count = await connection.fetchval(
                        "SELECT count(*) FROM messages WHERE chat_id = $1", chat_id)
                    print(f"chat {chat_id}: {count} messages (after {args.others} in 10 other "
                          f"chats), filled in {time.perf_counter() - started:.1f} s")
                    first_id, last_id = await connection.fetchrow(
                        "SELECT min(id), max(id) FROM messages WHERE chat_id = $1", chat_id)
                    last_page_after = await connection.fetchval(
                        "SELECT id FROM messages WHERE chat_id = $1 ORDER BY id DESC "
                        "OFFSET 50 LIMIT 1", chat_id)
                finally:
                    await connection.close()
                cases = pages(first_id, last_id, last_page_after)
                await explain(url, chat_id, cases)
                print("\n| request | n | p50 ms | p99 ms | mean ms |\n|---|---|---|---|---|")
                print(summary("GET /healthz (floor)",
                              await timings(api, "/healthz", {}, args.requests)))
                for label, params in cases.items():
                    path = f"/chats/{chat_id}/messages?{urlencode(params)}"
                    print(summary(label, await timings(api, path, owner.headers,
                                                       args.requests)))
                deep = f"/chats/{chat_id}/messages?page=10000&take=50"
                print(summary("page mode, page=10000 (offset + count)",
                              await timings(api, deep, owner.headers, args.requests // 20)))
    finally:
        await drop_database(args.admin_url, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--others", type=int, default=1_000_000,
                        help="messages of 10 other chats, written before the measured chat's")
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per page")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
