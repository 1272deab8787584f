"""Database errors never carry the values of a statement (they end up in logs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError

from pipechat.db import Database
from pipechat.messages.models import Message
from support import make_settings

SECRET = "RECOGNISABLE secret text"


def _insert_orphan(connection: Connection) -> None:
    # The chat and author do not exist: a foreign-key violation that names the statement.
    connection.execute(insert(Message).values(chat_id=999_999, author_id=999_999,
                                              message=SECRET))


async def test_every_engine_hides_statement_parameters(database_url: str,
                                                       tmp_path: Path) -> None:
    db = Database(make_settings(database_url, tmp_path))
    try:
        with pytest.raises(IntegrityError) as batch_error:
            await db.run_write(_insert_orphan)
        with pytest.raises(IntegrityError) as session_error:
            async with db.write() as session:
                await session.execute(insert(Message).values(
                    chat_id=999_999, author_id=999_999, message=SECRET))
        with pytest.raises(IntegrityError) as read_error:
            async with db.read_engine.begin() as connection:
                await connection.run_sync(_insert_orphan)
    finally:
        await db.dispose()
    for caught in (batch_error, session_error, read_error):
        assert "parameters hidden" in str(caught.value)
        assert SECRET not in str(caught.value)
