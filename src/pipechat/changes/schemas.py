"""What the change log and `GET /sync` show."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from pipechat.changes.service import MAX_TOKEN_LENGTH, TOKEN_PATTERN
from pipechat.chats.schemas import ChatListItem
from pipechat.pagination import DEFAULT_TAKE, MAX_ID
from pipechat.schemas import CamelModel

SeqValue = Annotated[int, Field(ge=0, le=MAX_ID)]


class ChangePublic(CamelModel):
    """One change of a chat's log."""

    seq: int
    kind: str = Field(description="chat_created, message, chat_updated, member_added, "
                                  "member_removed, member_updated, message_updated, "
                                  "message_deleted, reaction_added, reaction_removed "
                                  "(more kinds may come)")
    by: int | None = Field(description="the user who made it")
    at: datetime
    data: dict[str, Any] | None = Field(
        description="for `message` the Message as it is now; for `message_updated` "
                    "{message} without reactions; otherwise what the kind's event carries")


class SyncChat(CamelModel):
    """One chat that changed since the token: its state now and the changes in between."""

    chat_id: int
    seq: int = Field(description="the newest change of the chat this answer covers")
    chat: ChatListItem | None = Field(description="the chat now, as you see it; null when "
                                                  "you are no longer in it")
    changes: list[ChangePublic]
    limited: bool = Field(description="true when older changes since the token were left "
                                      "out: fill them from GET /chats/{cid}/changes")


class SyncPage(BaseModel):
    """A page of `GET /sync`."""

    data: list[SyncChat]
    count: int = Field(description="number of chats in `data`")
    next: str | None = Field(description="absolute URL of the next page, or null")
    since: str = Field(description="the token to send as `since` next time")


class ChangesPage(BaseModel):
    """A page of `GET /chats/{cid}/changes`."""

    data: list[ChangePublic]
    count: int
    next: str | None


class SyncQuery(BaseModel):
    """The parameters of `GET /sync`; anything else is a 400."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(None, max_length=MAX_TOKEN_LENGTH, pattern=TOKEN_PATTERN,
                              description="the token of your last sync; omit for everything")
    after: int = Field(0, ge=0, le=MAX_ID, description="only chats with a larger id (paging)")
    take: int = Field(DEFAULT_TAKE, ge=1, le=MAX_ID, description="chats per page, at most "
                                                       "PIPECHAT_PAGE_SIZE_MAX")
    next_since: str | None = Field(None, max_length=MAX_TOKEN_LENGTH, pattern=TOKEN_PATTERN,
                                   description="set by `next` links: the token of the first page")


class ChangesQuery(BaseModel):
    """The parameters of `GET /chats/{cid}/changes`."""

    model_config = ConfigDict(extra="forbid")

    after: SeqValue = Field(0, description="only changes with a larger seq")
    take: int = Field(DEFAULT_TAKE, ge=1, le=MAX_ID, description="changes per page, at most "
                                                        "PIPECHAT_PAGE_SIZE_MAX")
