"""What the API accepts and shows of users; never the password hash."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from pipechat.schemas import CamelModel, StrictInput, check_storable
from pipechat.users.models import Role

# Control, format (zero-width, bidi overrides), surrogate, private-use, unassigned and
# line/paragraph separators: invisible or layout-changing in a name others read.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def check_nickname_characters(value: str) -> str:
    """Refuse characters that hide or disguise a nickname.

    Besides the refused categories, every space other than U+0020 (no-break, em, ideographic
    spaces...) is refused: each renders like a plain space, so "a b" could pose as "a b".
    """
    for char in value:
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES or (category == "Zs" and char != " "):
            raise ValueError(f"must not contain the character U+{ord(char):04X}")
    return value


Nickname = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20),
                     AfterValidator(check_nickname_characters)]
Password = Annotated[str, Field(min_length=8, max_length=128), AfterValidator(check_storable)]
Email = Annotated[EmailStr, AfterValidator(check_storable)]


class UserCreate(StrictInput):
    """The body of `POST /auth/register/email`."""

    nickname: Nickname
    email: Email
    password: Password


class UserPublic(CamelModel):
    """A user's public profile, as anyone else sees it: never the email."""

    id: int
    nickname: str
    role: Role
    created_at: datetime
    updated_at: datetime


class Presence(CamelModel):
    """Whether a user is connected, shown only to people who share a chat with them."""

    online: bool = Field(description="at least one of their sockets is connected (debounced)")
    last_seen_at: datetime | None = Field(description="when they last came online or went "
                                                     "offline; null if never connected")


class UserProfile(UserPublic):
    """`GET /users/{id}`: the public profile, with presence when the caller shares a chat
    with them (or is them); the two presence fields are absent otherwise."""

    online: bool | None = Field(default=None, description="absent for strangers")
    last_seen_at: datetime | None = Field(default=None, description="absent for strangers")


class UserMe(UserPublic):
    """A user as they see themselves (`GET /users/me`): also their email."""

    email: str


class Author(CamelModel):
    """The short form of a user attached to each message."""

    id: int
    nickname: str


class BlockCreate(StrictInput):
    """`POST /users/me/blocks`: the user to block."""

    user_id: Annotated[int, Field(ge=1, le=2**63 - 1)]


class BlockedUser(CamelModel):
    """A user the caller blocked, and since when."""

    id: int
    nickname: str
    blocked_at: datetime


class BlockList(CamelModel):
    """`GET /users/me/blocks`: everyone the caller blocked, most recent first."""

    data: list[BlockedUser]
