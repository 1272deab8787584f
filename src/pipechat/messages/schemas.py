"""What the API accepts and shows of messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from pipechat.schemas import CamelModel, PositiveId, StorableStr, StrictInput
from pipechat.users.schemas import Author

ClientMessageId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")
]

class MessageCreate(StrictInput):
    """`send_message`: the author is the caller, so there is no `authorId` field.

    The length limit is a setting, so it is checked by the service, not here.
    """

    chat_id: PositiveId
    message: StorableStr
    client_message_id: ClientMessageId | None = None
    reply_to_id: PositiveId | None = None


class MessageEdit(StrictInput):
    """`PATCH /chats/{cid}/messages/{mid}`: the new text."""

    message: StorableStr


class MessageEditEvent(MessageEdit):
    """`edit_message`: the message and its new text."""

    message_id: PositiveId


class MessageRef(StrictInput):
    """`delete_message`: which message."""

    message_id: PositiveId


class ReactionInput(StrictInput):
    """`add_reaction` / `remove_reaction`: the emoji is checked by the service (103)."""

    message_id: PositiveId
    emoji: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ReactionCount(CamelModel):
    """One emoji under a message: how many users put it, and whether you are one of them."""

    emoji: str
    count: int
    me: bool


class ReplyPreview(CamelModel):
    """The message replied to: a short excerpt, or a tombstone (`message` null) if deleted."""

    id: int
    author: Author
    message: str | None
    deleted_at: datetime | None = None


class MessagePublic(CamelModel):
    """A saved message, as `receive_message` and the send acknowledgement carry it."""

    id: int
    chat_id: int
    message: str | None = Field(description="the latest text; null once deleted")
    client_message_id: str | None
    author: Author
    created_at: datetime
    seq: int | None = Field(None, description="the message's number in its chat's change log")
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    reply_to: ReplyPreview | None = None
    reactions: list[ReactionCount] = Field(default_factory=list)

class MessageDeleted(CamelModel):
    """`message_deleted`, and the answer to a deletion."""

    chat_id: int
    message_id: int
    deleted_at: datetime
    by: int | None = Field(description="who deleted it; null when it was deleted already")
    seq: int = Field(description="the deletion's seq (the chat's newest when already deleted)")


class ReactionChanged(CamelModel):
    """`reaction_added` / `reaction_removed`, and the answer to either."""

    chat_id: int
    message_id: int
    user_id: int
    emoji: str
    count: int = Field(description="how many users have this emoji on the message now")
    seq: int = Field(description="the change's seq (the chat's newest when nothing changed)")


class ChatSummary(CamelModel):
    """A chat without its members, as attached to each message in history."""

    id: int
    created_at: datetime
    updated_at: datetime

class MessageWithChat(MessagePublic):
    """A message in history: also its chat, as the seed's final version returns."""

    updated_at: datetime
    chat: ChatSummary

MessageText = Annotated[str, Field(min_length=1)]
