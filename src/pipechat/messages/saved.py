"""A message waiting for a group commit, and a committed one as clients see it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SavedMessage:
    """A committed message; `created` is False when a re-send matched an earlier one."""

    id: int
    chat_id: int
    author_id: int
    author_nickname: str
    message: str
    client_message_id: str | None
    created_at: datetime
    created: bool = True
    # Opaque tag of whoever submitted it (the gateway puts the sender's socket id here).
    origin: str | None = None
    # The chat's message before this one (null for the first): lets a client spot a gap in
    # what it received live and fill it from history.
    previous_id: int | None = None
    # Its number in the chat's change log.
    seq: int | None = None
    # The quote of the message it replies to (`ReplyPreview`'s wire form), if any.
    reply_to: dict[str, Any] | None = None
    # A re-send of a message edited or deleted since (only re-sends can have these).
    edited_at: datetime | None = None
    deleted_at: datetime | None = None

    def to_wire(self) -> dict[str, Any]:
        """The camelCase object of `receive_message` and the send acknowledgement.

        A new message has no reactions yet: `[]` without a query.
        """
        return {
            "id": self.id,
            "chatId": self.chat_id,
            "message": None if self.deleted_at else self.message,
            "clientMessageId": self.client_message_id,
            "author": {"id": self.author_id, "nickname": self.author_nickname},
            "createdAt": _wire_time(self.created_at),
            "previousId": self.previous_id,
            "seq": self.seq,
            "editedAt": None if self.edited_at is None else _wire_time(self.edited_at),
            "deletedAt": None if self.deleted_at is None else _wire_time(self.deleted_at),
            "replyTo": self.reply_to,
            "reactions": [],
        }


def _wire_time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class PendingMessage:
    """A message waiting for the next group commit."""

    chat_id: int
    author_id: int
    author_nickname: str
    text: str
    client_message_id: str | None
    future: asyncio.Future[SavedMessage] = field(repr=False)
    origin: str | None = None
    # The quote of the message replied to, looked up (and checked) before submitting.
    reply_to: dict[str, Any] | None = None
    accepted_at: float = field(default_factory=time.perf_counter)

    @property
    def key(self) -> tuple[int, str] | None:
        """The idempotency key, when the client gave one."""
        if self.client_message_id is None:
            return None
        return (self.author_id, self.client_message_id)
