"""What the API accepts and shows of users; never the password hash."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints

from pipechat.schemas import CamelModel, StrictInput
from pipechat.users.models import Role

Nickname = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Password = Annotated[str, Field(min_length=8, max_length=128)]


class UserCreate(StrictInput):
    """The body of `POST /auth/register/email`."""

    nickname: Nickname
    email: EmailStr
    password: Password


class UserPublic(CamelModel):
    """A user's public profile, as anyone else sees it: never the email."""

    id: int
    nickname: str
    role: Role
    created_at: datetime
    updated_at: datetime


class UserMe(UserPublic):
    """A user as they see themselves (`GET /users/me`): also their email."""

    email: str


class Author(CamelModel):
    """The short form of a user attached to each message."""

    id: int
    nickname: str
