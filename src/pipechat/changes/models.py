"""The per-chat change log, the chats a user left, and SQLite's sync clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pipechat.db import Base, UTCDateTime, utc_now


class ChatChange(Base):
    """One change to a chat, numbered by `seq` (1, 2, 3 ...) in commit order within the chat.

    `position` says which transaction wrote it, in the terms `GET /sync` tokens use (a
    PostgreSQL transaction id, or SQLite's sync clock): a reader holding a token can tell
    whether the change was already visible when the token was made.
    """

    __tablename__ = "chat_changes"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"),
                                         primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    # What happened: chat_created, message, chat_updated, member_added, member_removed,
    # member_updated, message_updated, message_deleted, reaction_added, reaction_removed.
    kind: Mapped[str] = mapped_column(String(32))
    # Who did it. Not a foreign key: the log keeps its history whatever happens to users.
    by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # The message a `message` change (and later an edit or a reaction) is about.
    message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ChatDeparture(Base):
    """A chat a user is no longer in: `GET /sync` reports it until their token passes it."""

    __tablename__ = "chat_departures"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"),
                                         primary_key=True)
    # The change that removed them: the last one of the chat they may read.
    seq: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(BigInteger)


class SyncClock(Base):
    """SQLite only: one row counting write transactions, SQLite's stand-in for an xid."""

    __tablename__ = "sync_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
