"""The chats table and its many-to-many membership table."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pipechat.db import Base, Timestamped
from pipechat.users.models import User

chat_members = Table(
    "chat_members",
    Base.metadata,
    Column("chat_id", ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # "Which chats is this user in" is asked on every connect and GET /chats.
    Index("ix_chat_members_user_id_chat_id", "user_id", "chat_id"),
)


class Chat(Timestamped, Base):
    """A conversation between members; the seed's ChatsModel."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Maintained by the message writer under the chat's lock; the next message's previousId.
    last_message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    users: Mapped[list[User]] = relationship(
        secondary=chat_members, lazy="raise", order_by=User.id
    )
