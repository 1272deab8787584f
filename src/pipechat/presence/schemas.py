"""What clients send about typing and receive about typing and presence."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from pipechat.schemas import CamelModel, PositiveId, StrictInput


class TypingUpdate(StrictInput):
    """`typing`: the caller started (renewed) or stopped typing in a chat."""

    chat_id: PositiveId
    typing: bool


class PresenceChange(CamelModel):
    """`presence`: a user who shares a chat with you came online or went offline."""

    user_id: int
    online: bool
    last_seen_at: datetime | None = Field(description="when this change happened")
