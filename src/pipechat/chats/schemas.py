"""What the API accepts and shows of chats."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from pipechat.messages.schemas import MessagePublic
from pipechat.schemas import CamelModel, PositiveId, StrictInput, check_storable
from pipechat.users.schemas import Presence, UserPublic

# Bounded so a hostile client cannot make one request touch unbounded rows.
MAX_IDS_PER_REQUEST = 100
MAX_NAME_LENGTH = 100
ChatKind = Literal["direct", "group"]
ChatRole = Literal["owner", "admin", "member"]

# Bidirectional overrides and isolates can make a name read as another one; the format
# characters emoji need (zero-width joiner, variation selectors) stay allowed.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_chat_name(value: str) -> str:
    """Not blank, and no control, line-separator or bidirectional-override characters."""
    if not value.strip():
        raise ValueError("must not be blank")
    for char in value:
        if unicodedata.category(char) in {"Cc", "Zl", "Zp"} or char in _BIDI_CONTROLS:
            raise ValueError(f"must not contain the character U+{ord(char):04X}")
    return value


ChatName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=MAX_NAME_LENGTH),
                     AfterValidator(check_storable), AfterValidator(check_chat_name)]


class ChatCreate(StrictInput):
    """`create_chat` / `POST /chats`: the other members; the caller is always added.

    A `direct` chat names exactly one other user; a `group` without a name is named after
    its members.
    """

    kind: ChatKind = "group"
    name: ChatName | None = None
    user_ids: list[PositiveId] = Field(max_length=MAX_IDS_PER_REQUEST)


class ChatIds(StrictInput):
    """`enter_chat` / `leave_chat`: the chats to join or leave."""

    chat_ids: list[PositiveId] = Field(min_length=1, max_length=MAX_IDS_PER_REQUEST)


class MemberPublic(Presence, UserPublic):
    """A member of a chat: their public profile, presence and place in the chat.

    Every member shares the chat, so each may see the others' presence.
    """

    chat_role: ChatRole | None = Field(description="owner, admin or member in a group; "
                                                   "null in a direct chat")
    last_read_message_id: int | None = Field(description="the newest message they have read")


class ChatPublic(CamelModel):
    """A chat with its members' public profiles, as `GET /chats` and `chat_created` show it."""

    id: int
    kind: ChatKind
    name: str | None = Field(description="a group's name; null for a direct chat")
    created_at: datetime
    updated_at: datetime
    users: list[MemberPublic]
    seq: int = Field(description="the chat's newest change: the state shown here")
    last_message: MessagePublic | None = Field(description="the newest message, or null")


class ChatListItem(ChatPublic):
    """A chat as one of its members sees it: also their unread count and read marker."""

    unread_count: int = Field(description="messages of others after your read marker, "
                                          "counted up to PIPECHAT_UNREAD_COUNT_MAX")
    last_read_message_id: int | None = Field(description="your read marker")
    hidden: bool = Field(description="you left this direct chat and nothing was said since: "
                                     "it is not in your GET /chats")




class ChatRename(StrictInput):
    """`PATCH /chats/{cid}`: a group's new name."""

    name: ChatName


class MembersAdd(StrictInput):
    """`POST /chats/{cid}/members`: users to add to a group."""

    user_ids: list[PositiveId] = Field(min_length=1, max_length=MAX_IDS_PER_REQUEST)


class MemberRoleUpdate(StrictInput):
    """`PATCH /chats/{cid}/members/{uid}`: the member's new role."""

    role: ChatRole


class MemberRemoved(CamelModel):
    """`member_removed`, and the answer of `DELETE /chats/{cid}/members/{uid}`."""

    chat_id: int
    user_id: int
    by: int
    reason: Literal["left", "removed", "hidden"] = Field(
        description="left or removed from a group; hidden: left a direct chat, which stays "
                    "hidden from their list until a newer message")
    seq: int


class ReadMark(StrictInput):
    """`POST /chats/{cid}/read`: the newest message the caller has read."""

    message_id: PositiveId


class MarkRead(ReadMark):
    """`mark_read`: the socket twin of `POST /chats/{cid}/read`."""

    chat_id: PositiveId


class ReadMarker(CamelModel):
    """`read`, and the answer of `mark_read` / `POST /chats/{cid}/read`."""

    chat_id: int
    user_id: int
    last_read_message_id: int
    seq: int = Field(description="the chat's newest change then (a read is not a change)")


class ActivityCursor(BaseModel):
    """Where the next page by activity starts: the last chat's cursor, or null."""

    before: str | None


class ActivityPage(BaseModel):
    """A page of `GET /chats?sort=activity`: most recently active first."""

    data: list[ChatListItem]
    cursor: ActivityCursor
    count: int = Field(description="number of chats in `data`")
    next: str | None = Field(description="absolute URL of the next page, or null")
