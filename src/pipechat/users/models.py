"""The users table."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from pipechat.db import Base, Timestamped, UTCDateTime, utc_now


class Role(enum.StrEnum):
    """The seed's RolesEnum. Every user is USER: ADMIN keeps the seed's shape and grants nothing."""

    USER = "USER"
    ADMIN = "ADMIN"


class User(Timestamped, Base):
    """A person who chats; the seed's UsersModel."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    nickname: Mapped[str] = mapped_column(String(20), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", native_enum=False, length=10), default=Role.USER
    )
    # Presence as last announced (presence/): changed only on a debounced transition.
    online: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UserBlock(Base):
    """`blocker` blocked `blocked`: who may not start a direct chat with, or add, the blocker."""

    __tablename__ = "user_blocks"

    blocker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            primary_key=True)
    blocked_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
