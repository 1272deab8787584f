"""What the API accepts and shows of chats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from pipechat.schemas import CamelModel, StrictInput
from pipechat.users.schemas import UserPublic

# Bounded so a hostile client cannot make one request touch unbounded rows.
MAX_IDS_PER_REQUEST = 100
PositiveId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ChatCreate(StrictInput):
    """`create_chat` / `POST /chats`: the other members; the caller is always added."""

    user_ids: list[PositiveId] = Field(max_length=MAX_IDS_PER_REQUEST)


class ChatIds(StrictInput):
    """`enter_chat` / `leave_chat`: the chats to join or leave."""

    chat_ids: list[PositiveId] = Field(min_length=1, max_length=MAX_IDS_PER_REQUEST)


class ChatPublic(CamelModel):
    """A chat with its members' public profiles, as `GET /chats` and `chat_created` show it."""

    id: int
    created_at: datetime
    updated_at: datetime
    users: list[UserPublic]
    seq: int = Field(description="the chat's newest change: the state shown here")


class ChatSummary(CamelModel):
    """A chat without its members, as attached to each message in history."""

    id: int
    created_at: datetime
    updated_at: datetime
