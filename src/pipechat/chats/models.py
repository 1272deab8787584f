"""The chats table and its many-to-many membership table."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pipechat.db import Base, Timestamped
from pipechat.users.models import User

chat_members = Table(
    "chat_members",
    Base.metadata,
    Column("chat_id", ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # owner, admin or member (groups); member in a direct chat, where roles mean nothing.
    Column("role", String(10), nullable=False, default="member", server_default="member"),
    # The seq of the change that brought them in: "oldest member" when ownership passes on.
    Column("joined_seq", BigInteger, nullable=False, default=0, server_default="0"),
    # The newest message this member has read; it only moves forward.
    Column("last_read_message_id", BigInteger, nullable=True, default=None),
    # A direct chat its member left: hidden from their list until a newer message than this.
    Column("hidden_upto", BigInteger, nullable=True, default=None),
    # The sync position of the last change to this membership alone (joining, a read
    # marker): `GET /sync` reports the chat to this member when it is newer than their token.
    Column("member_position", BigInteger, nullable=False, default=0, server_default="0"),
    # "Which chats is this user in" is asked on every connect and GET /chats.
    Index("ix_chat_members_user_id_chat_id", "user_id", "chat_id"),
)


class Chat(Timestamped, Base):
    """A conversation between members; the seed's ChatsModel."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="group", server_default="group")
    name: Mapped[str | None] = mapped_column(String(100), default=None)
    # "<smaller user id>:<larger user id>" for a direct chat, so a pair has at most one.
    direct_key: Mapped[str | None] = mapped_column(String(41), unique=True, default=None)
    # Maintained by the message writer under the chat's lock; the next message's previousId.
    last_message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # The chat's newest change (`pipechat.changes`): its seq and the sync position of the
    # transaction that made it, both maintained under the chat's row lock.
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_position: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The order of "by activity" lists: its newest message's id, or at its creation the newest
    # message id of any chat (ids grow with time). The writer sets it with last_message_id, at
    # no extra cost; not indexed, so that update stays HOT on PostgreSQL.
    activity: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    users: Mapped[list[User]] = relationship(
        secondary=chat_members, lazy="raise", order_by=User.id
    )

    @property
    def seq(self) -> int:
        """The seq of the chat's newest change: the state this row shows."""
        return self.last_seq
