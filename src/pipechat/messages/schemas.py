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

class MessagePublic(CamelModel):
    """A saved message, as `receive_message` and the send acknowledgement carry it."""

    id: int
    chat_id: int
    message: str
    client_message_id: str | None
    author: Author
    created_at: datetime
    seq: int | None = Field(None, description="the message's number in its chat's change log")

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
