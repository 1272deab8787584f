"""The SQL of one commit batch: the re-send lookup searches the index, whatever the table size."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, text

from messages.test_writer import make_chat
from pipechat.db import Database
from pipechat.messages.batch import find_resent, select_resent
from pipechat.messages.saved import SavedMessage
from support import make_settings


def _plan(connection: Connection, keys: list[tuple[int, str]]) -> str:
    statement, parameters = select_resent(connection.dialect.name, keys)
    sql = str(statement.element)
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"), parameters)
        return "\n".join(str(row[-1]) for row in rows)
    # A small test table would be read whole anyway; this asks whether the index can serve.
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    rows = connection.execute(text(f"EXPLAIN {sql}"), parameters)
    return "\n".join(str(row[0]) for row in rows)


def _store(connection: Connection, chat_id: int, author_id: int, count: int) -> None:
    connection.execute(text(
        "INSERT INTO messages (chat_id, author_id, message, client_message_id, created_at, "
        "updated_at) VALUES (:chat, :author, 'x', :key, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
        [{"chat": chat_id, "author": author_id, "key": f"k{n}"} for n in range(count)])


async def test_resent_lookup_is_an_index_search(database_url: str, tmp_path: Path) -> None:
    db = Database(make_settings(database_url, tmp_path))
    try:
        chat_id, (alice, bob) = await make_chat(db, ["alice", "bob"])
        await db.run_write(_store, chat_id, alice, 2000)
        keys = [(alice, "k5"), (bob, "k5"), (alice, "k1999"), (alice, "missing")]
        plan = await db.run_write(_plan, keys)
        found: dict[tuple[int, str], SavedMessage] = await db.run_write(find_resent, keys)
    finally:
        await db.dispose()
    if db.is_sqlite:
        assert "SEARCH m USING" in plan and "SCAN m" not in plan, plan
    else:
        assert "Index" in plan and "Seq Scan on messages" not in plan, plan
    assert sorted(found) == [(alice, "k1999"), (alice, "k5")]
    assert all(not saved.created and saved.chat_id == chat_id for saved in found.values())
    assert found[(alice, "k5")].created_at.tzinfo is not None
