"""The users table."""

from __future__ import annotations

import enum

from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from pipechat.db import Base, Timestamped


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
