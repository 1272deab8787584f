"""The chat list by activity for a user in 1,000 chats of 1,000,000 messages: plans and latency.

Starts `pipechat serve` on a fresh database (a SQLite file in a temporary directory, or
with `--database postgresql://...` a scratch database on that server, dropped at the end),
registers the measured user and two others over REST, then fills the tables in bulk with
INSERT ... SELECT (the measured user in `--chats` group chats of 3 members holding `--messages`
messages in all, a third of them the user's own, the chats' activity in no relation to their
ids; plus `--others` chats of the other two only), and gathers statistics. It prints the
EXPLAIN (QUERY PLAN) of the list's own SQL, of its second page and of the page's unread
counts, then, for three states of the user's read markers (never read: every chat counts its
unread messages; read up to the middle; all read), times `GET /chats?sort=activity&take=20`:

- server-side: the endpoint's work in this process (the page's query, the rendering with
  members, newest messages and unread counts, the JSON), on the same engines `pipechat serve`
  uses;
- end to end: sequential keep-alive requests to the real server over loopback, with
  `/users/me` (HTTP, token check, one query) as the floor.

Last, `POST /chats/{cid}/read` moving the marker one message further each time, against
`GET /users/me`, with the server process's CPU time per request (from /proc).

    .venv/bin/python bench/list_explain.py [--database postgresql://postgres@127.0.0.1:5432/test]
        [--chats N] [--messages N] [--others N] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import procstat
from history_setup import (
    SECRET,
    BenchUser,
    create_database,
    drop_database,
    register,
    server_process,
)
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from pipechat.chats.listing import encode_cursor, list_by_activity, select_by_activity
from pipechat.chats.schemas import ActivityCursor, ActivityPage
from pipechat.chats.views import render_items, select_unread
from pipechat.config import Settings
from pipechat.db import Database

TARGET_MS = 50.0
TAKE = 20


def _series(dialect: str, high: str) -> str:
    """A subquery of one column g counting 1..high; SQLite has no generate_series."""
    if dialect == "sqlite":
        return (f"(WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n "
                f"WHERE g < {high}) SELECT g FROM n)")
    return f"(SELECT generate_series(1, {high}) AS g)"


def fill_statements(dialect: str, chats: int, messages: int, others: int,
                    users: tuple[int, int, int]) -> list[str]:
    """The bulk fill: chats, memberships, messages, then each chat's newest message."""
    me, first, second = users
    now = "CURRENT_TIMESTAMP" if dialect == "sqlite" else "now()"
    all_chats = chats + others
    # 7919 is prime, so `g * 7919 % chats` visits the chats in a scattered order: the newest
    # messages, hence the activity order, bear no relation to the chats' ids.
    return [
        f"INSERT INTO chats (id, kind, name, created_at, updated_at, last_seq, activity) "
        f"SELECT g, 'group', 'chat ' || g, {now}, {now}, 1, 0 "
        f"FROM {_series(dialect, str(all_chats))} AS s",
        f"INSERT INTO chat_members (chat_id, user_id, role, joined_seq) "
        f"SELECT g, {me}, 'owner', 1 FROM {_series(dialect, str(chats))} AS s",
        f"INSERT INTO chat_members (chat_id, user_id, role, joined_seq) "
        f"SELECT g, {first}, 'member', 1 FROM {_series(dialect, str(all_chats))} AS s",
        f"INSERT INTO chat_members (chat_id, user_id, role, joined_seq) "
        f"SELECT g, {second}, 'member', 1 FROM {_series(dialect, str(all_chats))} AS s",
        f"INSERT INTO messages (id, chat_id, author_id, message, created_at, updated_at) "
        f"SELECT g, 1 + (CAST(g AS BIGINT) * 7919) % {chats}, "
        f"CASE g % 3 WHEN 0 THEN {me} WHEN 1 THEN {first} ELSE {second} END, "
        f"'message number ' || g, {now}, {now} FROM {_series(dialect, str(messages))} AS s",
        "UPDATE chats SET last_message_id = (SELECT max(m.id) FROM messages AS m "
        "WHERE m.chat_id = chats.id), last_seq = 1 + (SELECT count(*) FROM messages AS m "
        f"WHERE m.chat_id = chats.id) WHERE id <= {chats}",
        f"UPDATE chats SET activity = coalesce(last_message_id, 0) WHERE id <= {chats}",
    ]


# The user's read markers: (label, SQL of the new marker per membership).
MARKERS = [
    ("never read", "NULL"),
    ("read up to the middle", "(SELECT max(m.id) FROM messages AS m WHERE m.chat_id = "
                              "chat_members.chat_id AND m.id <= {half})"),
    ("all read", "(SELECT c.last_message_id FROM chats AS c WHERE c.id = chat_members.chat_id)"),
]


async def fill(db: Database, args: argparse.Namespace,
               users: tuple[int, int, int]) -> None:
    dialect = "sqlite" if db.is_sqlite else "postgresql"
    started = time.perf_counter()
    async with db.write_engine.begin() as connection:
        for statement in fill_statements(dialect, args.chats, args.messages, args.others,
                                         users):
            await connection.execute(text(statement))
        if not db.is_sqlite:  # the sequences the server draws ids from move past the fill
            await connection.execute(text(
                "SELECT setval('chats_id_seq', (SELECT max(id) FROM chats)), "
                "setval('messages_id_seq', (SELECT max(id) FROM messages))"))
    async with db.write_engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("ANALYZE" if db.is_sqlite else "VACUUM ANALYZE"))
    print(f"filled {args.chats} chats of user {users[0]} with {args.messages} messages "
          f"(+{args.others} other chats) in {time.perf_counter() - started:.1f} s")


async def set_markers(db: Database, user_id: int, expression: str, half: int) -> None:
    async with db.write_engine.begin() as connection:
        await connection.execute(text(
            f"UPDATE chat_members SET last_read_message_id = {expression.format(half=half)} "
            f"WHERE user_id = {user_id}"))


async def explain(db: Database, user_id: int, cap: int) -> None:
    dialect = "sqlite" if db.is_sqlite else "postgresql"
    compiler = (sqlite.dialect() if db.is_sqlite
                else postgresql.dialect())  # type: ignore[no-untyped-call]
    async with db.read() as session:
        first = await list_by_activity(session, user_id, None, TAKE)
    cases = {
        "first page by activity": select_by_activity(user_id, dialect, None, TAKE),
        "second page (activity_before)": select_by_activity(
            user_id, dialect, encode_cursor(first[-1]), TAKE),
        "the page's markers and unread counts, never read": select_unread(
            user_id, [chat.id for chat in first], cap),
    }
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    async with db.read_engine.connect() as connection:
        for label, statement in cases.items():
            sql = str(statement.compile(dialect=compiler, compile_kwargs={"literal_binds": True}))
            rows = (await connection.execute(text(prefix + sql))).all()
            print(f"\n### {label}\n{sql}\n")
            print("\n".join(str(row[-1]) for row in rows))


async def server_side(db: Database, user_id: int, cap: int) -> None:
    """What `GET /chats?sort=activity` does after the token check (router.paginate_chats)."""
    async with db.read() as session:
        chats = await list_by_activity(session, user_id, None, TAKE)
        items = await render_items(session, chats, user_id, cap)
    before = encode_cursor(chats[-1]) if len(chats) == TAKE else None
    ActivityPage(data=items, cursor=ActivityCursor(before=before), count=len(items),
                 next=None).model_dump_json(by_alias=True)


async def timed(work: Callable[[], Awaitable[object]], requests: int) -> list[float]:
    for _ in range(min(20, requests)):  # warm the pools and caches
        await work()
    spent = []
    for _ in range(requests):
        started = time.perf_counter()
        await work()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def summary(label: str, spent: list[float]) -> str:
    cut = statistics.quantiles(spent, n=100)
    return (f"| {label} | {len(spent)} | {statistics.median(spent):.2f} | {cut[98]:.2f} | "
            f"{statistics.fmean(spent):.2f} |")


async def get(api: httpx.AsyncClient, path: str, user: BenchUser) -> None:
    (await api.get(path, headers=user.headers)).raise_for_status()


def server_pid() -> int:
    """The `pipechat serve` child of this process (`server_process` yields only its URL)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"pipechat.cli" in cmdline:
            return int(stat.parent.name)
    raise RuntimeError("no server child found")


async def cpu_per_call(label: str, calls: list[Callable[[], Awaitable[object]]]) -> None:
    """p50/p99 of `calls` run one after another, and the server's CPU time per call."""
    pid = server_pid()
    start = procstat.sample(pid)
    spent = []
    for call in calls:
        started = time.perf_counter()
        await call()
        spent.append((time.perf_counter() - started) * 1000)
    cpu = procstat.sample(pid).cpu_seconds - start.cpu_seconds
    print(summary(label, spent) + f" {cpu / len(calls) * 1e6:.0f} |")


async def read_costs(db: Database, api: httpx.AsyncClient, user: BenchUser,
                     requests: int) -> None:
    """`POST /chats/{cid}/read` moving the marker forward one message at a time, against
    `GET /users/me` (the same HTTP and token check, one query): the CPU a read marker costs."""
    await set_markers(db, user.id, "NULL", 0)
    async with db.read_engine.connect() as connection:
        rows = (await connection.execute(text(
            "SELECT m.chat_id, m.id FROM messages AS m JOIN chat_members AS c "
            f"ON c.chat_id = m.chat_id AND c.user_id = {user.id} "
            f"WHERE m.author_id != {user.id} ORDER BY m.chat_id, m.id LIMIT {requests}"))).all()

    def mark(chat_id: int, message_id: int) -> Callable[[], Awaitable[None]]:
        async def post() -> None:
            (await api.post(f"/chats/{chat_id}/read", json={"messageId": message_id},
                            headers=user.headers)).raise_for_status()
        return post

    print("\n| request | n | p50 ms | p99 ms | mean ms | server CPU us/request |\n"
          "|---|---|---|---|---|---|")
    await cpu_per_call("GET /users/me (floor)",
                       [lambda: get(api, "/users/me", user)] * len(rows))
    await cpu_per_call("POST /chats/{cid}/read, marker one message further",
                       [mark(chat_id, message_id) for chat_id, message_id in rows])


async def measure(db: Database, api: httpx.AsyncClient, user: BenchUser,
                  args: argparse.Namespace, cap: int) -> list[tuple[str, float]]:
    await explain(db, user.id, cap)
    print("\n| request | n | p50 ms | p99 ms | mean ms |\n|---|---|---|---|---|")
    print(summary("GET /users/me (floor)", await timed(
        lambda: get(api, "/users/me", user), args.requests)))
    medians = []
    for label, expression in MARKERS:
        await set_markers(db, user.id, expression, args.messages // 2)
        spent = await timed(lambda: server_side(db, user.id, cap), args.requests)
        medians.append((label, statistics.median(spent)))
        print(summary(f"{label}: server-side", spent))
        print(summary(f"{label}: GET /chats?sort=activity&take={TAKE}", await timed(
            lambda: get(api, f"/chats?sort=activity&take={TAKE}", user), args.requests)))
    await read_costs(db, api, user, args.requests)
    return medians


async def run(args: argparse.Namespace) -> bool:
    """The whole benchmark on one database; True when every server-side p50 meets the target."""
    with tempfile.TemporaryDirectory(prefix="pipechat-list-") as workdir:
        url = (f"sqlite:///{Path(workdir) / 'pipechat.db'}" if args.database == "sqlite"
               else await create_database(args.database, "pipechat_bench_list"))
        try:
            with server_process(url) as base:
                async with httpx.AsyncClient(base_url=base, timeout=60) as api:
                    me, first, second = [await register(api) for _ in range(3)]
                    settings = Settings(database_url=url, data_dir=Path(workdir),
                                        jwt_secret=SECRET)
                    db = Database(settings)
                    try:
                        await fill(db, args, (me.id, first.id, second.id))
                        medians = await measure(db, api, me, args, settings.unread_count_max)
                    finally:
                        await db.dispose()
        finally:
            if args.database != "sqlite":
                await drop_database(args.database, url)
    met = all(median < TARGET_MS for _, median in medians)
    print(f"\ntarget (issue 13): [{'met' if met else 'NOT met'}] server-side p50 < "
          f"{TARGET_MS:.0f} ms: " + ", ".join(f"{label} {ms:.2f} ms" for label, ms in medians))
    return met


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The sizes of the fill and the number of timed requests (shared with bench/run.py)."""
    parser.add_argument("--chats", type=int, default=1000, help="chats of the measured user")
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages in them")
    parser.add_argument("--others", type=int, default=99_000,
                        help="chats of the other two users only (the list must not read them)")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per case")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite",
                        help="sqlite, or the admin URL of a PostgreSQL server "
                             "(a scratch database is made on it)")
    add_arguments(parser)
    # A missed target is a figure, as in bench/run.py; only a failure is a non-zero exit.
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
