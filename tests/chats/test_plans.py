"""The chat list stays on indexes: the caller's memberships, and unread counts per chat.

A user in 600 of 20,000 chats with 40,000 messages, statistics gathered; the list's SQL (by
activity) and the page's unread counts are EXPLAINed on the real database. The counts must
read the messages index alone (author_id is in it): a lookup of each message's row made the
list miss its 50 ms target (docs/performance.md, bench/list_explain.py).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from pipechat.chats.listing import select_by_activity
from pipechat.chats.views import select_unread
from pipechat.db import Database
from support import make_settings

CHATS = 20_000
MINE = 600
MESSAGES = 40_000

FILL = [
    "INSERT INTO users (id, nickname, email, password_hash, role, created_at, updated_at) "
    "SELECT g, 'u' || g, 'u' || g || '@example.com', 'x', 'USER', {now}, {now} "
    "FROM {series:20} AS s",
    "INSERT INTO chats (id, kind, name, created_at, updated_at, activity) "
    "SELECT g, 'group', 'c' || g, {now}, {now}, g FROM {series:chats} AS s",
    "INSERT INTO chat_members (chat_id, user_id) SELECT g, 2 + g % 19 FROM {series:chats} AS s",
    "INSERT INTO chat_members (chat_id, user_id) SELECT g * {step}, 1 FROM {series:mine} AS s",
    "INSERT INTO messages (chat_id, author_id, message, created_at, updated_at) "
    "SELECT 1 + g % {chats}, 2, 'm', {now}, {now} FROM {series:messages} AS s",
]


def _fill_statements(dialect: str) -> list[str]:
    values = {"chats": CHATS, "mine": MINE, "step": CHATS // MINE - 1, "messages": MESSAGES}
    statements = []
    for template in FILL:
        for name, high in (("20", 20), *((key, values[key]) for key in
                                         ("chats", "mine", "messages"))):
            # A subquery of one column g counting 1..high; SQLite has no generate_series.
            series = (f"(WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n "
                      f"WHERE g < {high}) SELECT g FROM n)" if dialect == "sqlite"
                      else f"(SELECT generate_series(1, {high}) AS g)")
            template = template.replace("{series:" + name + "}", series)
        now = "CURRENT_TIMESTAMP" if dialect == "sqlite" else "now()"
        statements.append(template.format(now=now, **values))
    return statements


async def test_the_list_by_activity_and_unread_counts_use_indexes(database_url: str,
                                                                   tmp_path: Path) -> None:
    db = Database(make_settings(database_url, tmp_path))
    try:
        dialect = "sqlite" if db.is_sqlite else "postgresql"
        async with db.write_engine.begin() as connection:
            for statement in _fill_statements(dialect):
                await connection.execute(text(statement))
            if db.is_sqlite:
                await connection.execute(text("ANALYZE"))
        if not db.is_sqlite:  # a settled table, as autovacuum leaves it: index-only is possible
            async with db.write_engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM ANALYZE"))
        compiler = sqlite.dialect() if db.is_sqlite else postgresql.dialect()
        listing = str(select_by_activity(1, dialect, None, 20).compile(
            dialect=compiler, compile_kwargs={"literal_binds": True}))
        unread = str(select_unread(1, [32, 64, 96], 1000).compile(
            dialect=compiler, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
        async with db.read_engine.connect() as connection:
            plans = []
            for sql in (listing, unread):
                rows = (await connection.execute(text(explain + sql))).all()
                plans.append("\n".join(str(row[-1]) for row in rows))
    finally:
        await db.dispose()
    listing_plan, unread_plan = plans
    if db.is_sqlite:
        assert "ix_chat_members_user_id_chat_id" in listing_plan, listing_plan
        assert "USING INTEGER PRIMARY KEY" in listing_plan, listing_plan
        assert "COVERING INDEX ix_messages_chat_id_id_author_id" in unread_plan, unread_plan
    else:
        assert "Seq Scan on chat_members" not in listing_plan, listing_plan
        assert "ix_chat_members_user_id_chat_id" in listing_plan, listing_plan
        # One primary-key lookup per membership, never a scan of every chat to hash-join.
        assert "Seq Scan on chats" not in listing_plan, listing_plan
        assert "Index Scan using pk_chats" in listing_plan, listing_plan
        assert "Seq Scan on messages" not in unread_plan, unread_plan
        assert "Index Only Scan using ix_messages_chat_id_id_author_id" in unread_plan, \
            unread_plan
