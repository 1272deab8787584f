"""The messages table."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pipechat.chats.models import Chat
from pipechat.db import Base, BigId, Timestamped
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

    chat: Mapped[Chat] = relationship(lazy="raise")
    author: Mapped[User] = relationship(lazy="raise")
