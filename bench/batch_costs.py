"""What the change log adds to a message batch, measured directly on SQLite.

Migrates a fresh SQLite file, makes `--chats` chats of `--members` members, then runs
`--batches` group commits of `--size` messages (the sizes workload (b) reaches) through the
real `messages.batch.write_batch` in one write transaction each, on a connection set up as the
server's batch thread sets it up. The change log's own statements in a batch (bumping the sync
clock; one executemany of change rows) are timed inside it by wrapping those two functions, so
their share of a batch is read on the same batches, not from two runs on a noisy machine.
Prints the mean per batch and per message of the whole batch and of each part, and the
messages index's share of the database file.

    .venv/bin/python bench/batch_costs.py [--chats N] [--members N] [--batches N] [--size N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from pipechat.db import _configure_sqlite
from pipechat.messages import batch
from pipechat.migrations import apply_migrations

Timings = dict[str, list[float]]


def timed(name: str, work: Callable[..., Any], spent: Timings) -> Callable[..., Any]:
    """`work`, adding its wall time (ms) to `spent[name]` on every call."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return work(*args, **kwargs)
        finally:
            spent[name].append((time.perf_counter() - started) * 1000)
    return wrapper


def fill(connection: Any, chats: int, members: int) -> None:
    users = chats * members
    connection.exec_driver_sql(
        "INSERT INTO users (id, nickname, email, password_hash, role, created_at, updated_at) "
        "VALUES (?, ?, ?, 'x', 'USER', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        [(u, f"u{u}", f"u{u}@example.com") for u in range(1, users + 1)])
    connection.exec_driver_sql(
        "INSERT INTO chats (id, kind, name, created_at, updated_at, last_seq) "
        "VALUES (?, 'group', ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)",
        [(c, f"c{c}") for c in range(1, chats + 1)])
    connection.exec_driver_sql(
        "INSERT INTO chat_members (chat_id, user_id, role, joined_seq) VALUES (?, ?, 'member', 1)",
        [(c, (c - 1) * members + m) for c in range(1, chats + 1) for m in range(1, members + 1)])


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="pipechat-batch-") as workdir:
        path = Path(workdir) / "pipechat.db"
        asyncio.run(apply_migrations(f"sqlite+aiosqlite:///{path}"))
        engine = create_engine(f"sqlite:///{path}")
        _configure_sqlite(engine, immediate=True)
        with engine.begin() as connection:
            fill(connection, args.chats, args.members)
        spent: Timings = {"batch": [], "sync clock": [], "change rows": []}
        batch.draw_position = timed(  # type: ignore[attr-defined]
            "sync clock", batch.draw_position, spent)  # type: ignore[attr-defined]
        batch._log_messages = timed("change rows", batch._log_messages, spent)
        loop = asyncio.new_event_loop()
        sent = 0
        for number in range(args.batches):
            pending = []
            for _ in range(args.size):
                sent += 1
                chat = 1 + sent % args.chats
                author = (chat - 1) * args.members + 1 + sent % 2  # 2 senders per chat
                pending.append(batch.PendingMessage(
                    chat, author, f"u{author}", f"message {sent} " + "x" * 40,
                    f"c{number}-{sent}", loop.create_future()))
            started = time.perf_counter()
            with engine.begin() as connection:
                batch.write_batch(connection, pending)
            spent["batch"].append((time.perf_counter() - started) * 1000)
        loop.close()
        with engine.connect() as connection:
            pages: dict[str, int] = dict(connection.execute(text(
                "SELECT name, count(*) FROM dbstat GROUP BY name")).all()) \
                if _has_dbstat(connection) else {}
        engine.dispose()
    print(f"{args.batches} batches of {args.size} messages in {args.chats} chats of "
          f"{args.members} members (SQLite)\n")
    print("| part | mean ms/batch | p50 ms/batch | us/message | share |\n|---|---|---|---|---|")
    whole = statistics.fmean(spent["batch"])
    for name, values in spent.items():
        mean = statistics.fmean(values)
        print(f"| {name} | {mean:.3f} | {statistics.median(values):.3f} | "
              f"{mean * 1000 / args.size:.1f} | {100 * mean / whole:.1f}% |")
    if pages:
        print("\npages: " + ", ".join(f"{name} {count}" for name, count in sorted(pages.items())
                                      if name.startswith(("messages", "ix_messages",
                                                          "chat_changes", "sqlite_autoindex"))))


def _has_dbstat(connection: Any) -> bool:
    try:
        connection.execute(text("SELECT 1 FROM dbstat LIMIT 1"))
    except Exception:  # the dbstat table is a compile-time option of SQLite
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--size", type=int, default=40, help="messages per batch")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
