"""The messages table and the reactions beside it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pipechat.chats.models import Chat
from pipechat.db import Base, BigId, Timestamped, UTCDateTime, utc_now
from pipechat.users.models import User


class Message(Timestamped, Base):
    """One message in a chat; the seed's MessagesModel."""

    __tablename__ = "messages"
    __table_args__ = (
        # Cursor pagination of one chat is a range scan on (chat_id, id). author_id rides
        # along so an unread count ("messages of others after my marker") reads the index
        # alone, not one table row per message (docs/performance.md, the chat list).
        Index("ix_messages_chat_id_id_author_id", "chat_id", "id", "author_id"),
        # A client re-sending after a reconnect must hit the row it already made.
        UniqueConstraint("author_id", "client_message_id"),
        # Catch-up relies on ids never being handed out twice, even after deletes.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text)
    client_message_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # The message's number in its chat's change log (`pipechat.changes`).
    seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Set by an edit; the text is then the latest one (history keeps no old versions).
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Set by a deletion, which also empties `message`: the row stays as a tombstone so ids,
    # previousId and seqs stay gap-free.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The message this one replies to, in the same chat (not a foreign key: see 0006).
    reply_to_id: Mapped[int | None] = mapped_column(BigInteger, default=None)

    chat: Mapped[Chat] = relationship(lazy="raise")
    author: Mapped[User] = relationship(lazy="raise")


class Reaction(Base):
    """One user's emoji on one message; the primary key makes adding it twice a no-op."""

    __tablename__ = "message_reactions"

    # (message_id, emoji, user_id): a message's reactions, grouped by emoji, in one range.
    message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
