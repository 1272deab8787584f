"""send_message answers from its commit: never blocking the socket, failures reported once."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from sqlalchemy import text

from pipechat.messages.models import Message
from realtime.conftest import Connect
from realtime.peers import make_chat
from support import Account, LiveServer, count_rows

SQLITE_REFUSE_BOOM = """
CREATE TRIGGER refuse_boom BEFORE INSERT ON messages WHEN NEW.message = 'boom'
BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END
"""
POSTGRES_REFUSE_BOOM = [
    """CREATE FUNCTION refuse_boom() RETURNS trigger AS $$
       BEGIN
         IF NEW.message = 'boom' THEN RAISE EXCEPTION 'refused by test trigger'; END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER refuse_boom BEFORE INSERT ON messages
       FOR EACH ROW EXECUTE FUNCTION refuse_boom()""",
]


async def refuse_boom(server: LiveServer) -> None:
    """Make the database itself reject any message whose text is 'boom'."""
    statements = ([SQLITE_REFUSE_BOOM] if server.context.db.is_sqlite
                  else POSTGRES_REFUSE_BOOM)
    async with server.context.db.read_engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


async def test_failed_commit_is_reported_once_on_the_ack_or_as_exception(
        connect: Connect, accounts: list[Account], server: LiveServer) -> None:
    alice, bob, _ = [await connect(account) for account in accounts]
    chat = await make_chat(alice, accounts[1].id)
    await bob.call("enter_chat", {"chatIds": [chat]})
    await refuse_boom(server)

    refused = await alice.call("send_message", {"chatId": chat, "message": "boom"})
    assert refused["status"] == "error" and refused["code"] == 150
    await alice.emit("send_message", {"chatId": chat, "message": "boom"})
    assert (await alice.next("exception"))["code"] == 150

    fine = await alice.call("send_message", {"chatId": chat, "message": "fine"})
    assert fine["status"] == "ok"
    assert await bob.next("receive_message") == fine["data"]
    assert bob.backlog("receive_message") == 0 and alice.backlog("exception") == 0
    assert await count_rows(server, Message) == 1


# The write lock is held with SQLite's own client, so this one runs on SQLite only.
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_waiting_commit_does_not_hold_up_the_sockets_next_events(
        connect: Connect, accounts: list[Account], server: LiveServer) -> None:
    alice, bob, _ = [await connect(account) for account in accounts]
    chat = await make_chat(alice, accounts[1].id)
    await bob.call("enter_chat", {"chatIds": [chat]})
    path = server.settings.async_database_url.split(":///", 1)[1]
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # No other writer commits until this one ends. Taken off the event loop: the server runs
    # in this loop, and a write of its own in flight (presence, on connect) must finish first.
    await asyncio.to_thread(blocker.execute, "BEGIN IMMEDIATE")
    acks: list[Any] = []
    try:
        await alice.client.emit("send_message", {"chatId": chat, "message": "held"},
                                namespace="/chats", callback=acks.append)
        later = await alice.call("leave_chat", {"chatIds": [chat]})
        assert later == {"status": "ok", "data": {"chatIds": [chat]}}
        assert acks == []  # the send is still waiting for the write lock
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    received = await bob.next("receive_message")
    for _ in range(200):
        if acks:
            break
        await asyncio.sleep(0.05)
    assert acks and acks[0]["status"] == "ok" and acks[0]["data"] == received
