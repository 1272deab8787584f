"""Reading the change log: one chat's changes by seq, and `GET /sync` across a user's chats.

Within a chat, changes commit in seq order, so the changes a token has not seen are always
the newest ones: a sync reads a chat's log backwards from its newest change and stops at the
first change the token had seen, or after `PIPECHAT_SYNC_CHANGES_MAX` (then `limited`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import takewhile
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.changes.models import ChatChange, ChatDeparture
from pipechat.changes.schemas import ChangePublic, SyncChat
from pipechat.changes.service import SyncToken, read_token
from pipechat.chats.models import Chat, chat_members
from pipechat.chats.schemas import ChatListItem
from pipechat.chats.views import render_items
from pipechat.db import Database
from pipechat.messages.models import Message
from pipechat.messages.schemas import MessagePublic
from pipechat.messages.views import render_messages
from pipechat.pagination import owned_by
from pipechat.users.models import User

# Changes whose data is the message as it is now, read when the change is read.
RENDERED_KINDS = frozenset({"message", "message_updated"})


@dataclass(frozen=True, slots=True)
class ChangedChat:
    """A chat to report: one the user is in, or one they left (`upto_seq`: their last seq)."""

    chat_id: int
    upto_seq: int | None = None


@dataclass(frozen=True, slots=True)
class SyncResult:
    """One page of a sync: its chats, and the token of the snapshot it was read in."""

    chats: list[SyncChat]
    token: SyncToken


async def find_changed_chats(session: AsyncSession, user_id: int, since: SyncToken,
                             after: int, take: int) -> list[ChangedChat]:
    """The user's chats with an id above `after` that changed since the token, by id."""
    dialect = session.get_bind().dialect.name
    members = chat_members.c
    current = await session.scalars(
        select(members.chat_id).join(Chat, Chat.id == members.chat_id)
        .where(owned_by(members.user_id, user_id, dialect), members.chat_id > after,
               since.new(Chat.last_position) | since.new(members.member_position))
        .order_by(members.user_id, members.chat_id).limit(take))
    left = await session.execute(
        select(ChatDeparture.chat_id, ChatDeparture.seq)
        .where(owned_by(ChatDeparture.user_id, user_id, dialect), ChatDeparture.chat_id > after,
               since.new(ChatDeparture.position))
        .order_by(ChatDeparture.user_id, ChatDeparture.chat_id).limit(take))
    found = [ChangedChat(chat_id) for chat_id in current]
    found += [ChangedChat(chat_id, seq) for chat_id, seq in left]
    return sorted(found, key=lambda chat: chat.chat_id)[:take]


async def recent_changes(session: AsyncSession, chat_id: int, since: SyncToken,
                         upto_seq: int | None, limit: int) -> tuple[list[ChatChange], bool]:
    """The chat's changes the token has not seen, oldest first, at most `limit` of them.

    The second value is True when there were more (the oldest were left out).
    """
    statement = select(ChatChange).where(ChatChange.chat_id == chat_id)
    if upto_seq is not None:
        statement = statement.where(ChatChange.seq <= upto_seq)
    newest = list(await session.scalars(
        statement.order_by(ChatChange.chat_id.desc(), ChatChange.seq.desc()).limit(limit + 1)))
    unseen = list(takewhile(lambda change: since.is_new(change.position), newest))
    return unseen[:limit][::-1], len(unseen) > limit


async def changes_after(session: AsyncSession, chat_id: int, after: int,
                        take: int) -> list[ChatChange]:
    """The chat's changes with a seq above `after`, in order (a range of the primary key)."""
    return list(await session.scalars(
        select(ChatChange).where(ChatChange.chat_id == chat_id, ChatChange.seq > after)
        .order_by(ChatChange.chat_id, ChatChange.seq).limit(take)))


async def render_changes(session: AsyncSession, changes: list[ChatChange],
                         viewer_id: int | None = None) -> list[ChangePublic]:
    """The wire form of `changes`, for `viewer_id`.

    A `message` change carries the message as it is now (its latest text, or its tombstone,
    and its reactions); a `message_updated` change too, without reactions (an edit does not
    change them). Edits store no text in the log: a deleted message's text is gone for good.
    """
    message_ids = sorted({c.message_id for c in changes
                          if c.kind in RENDERED_KINDS and c.message_id})
    messages: dict[int, dict[str, Any]] = {}
    if message_ids:
        rows = list(await session.execute(select(Message, User.nickname)
                                          .join(User, User.id == Message.author_id)
                                          .where(Message.id.in_(message_ids))))
        for fields in await render_messages(session, rows, viewer_id):
            messages[fields["id"]] = MessagePublic(**fields).model_dump(mode="json",
                                                                        by_alias=True)
    return [ChangePublic(seq=c.seq, kind=c.kind, by=c.by_user_id, at=c.created_at,
                         data=_change_data(c, messages))
            for c in changes]


def _change_data(change: ChatChange,
                 messages: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    if change.kind not in RENDERED_KINDS or change.message_id not in messages:
        return change.payload
    shown = messages[change.message_id]
    if change.kind == "message_updated":
        return {"message": {key: value for key, value in shown.items() if key != "reactions"}}
    return shown


async def load_chats(session: AsyncSession, chat_ids: list[int], viewer_id: int,
                     unread_cap: int) -> dict[int, ChatListItem]:
    """The current state of these chats as `viewer_id` sees them."""
    if not chat_ids:
        return {}
    chats = list(await session.scalars(select(Chat).where(Chat.id.in_(chat_ids))))
    items = await render_items(session, chats, viewer_id, unread_cap)
    return {item.id: item for item in items}


async def read_sync_page(db: Database, user_id: int, since: SyncToken, after: int, take: int,
                         changes_max: int, unread_cap: int) -> SyncResult:
    """Up to `take` changed chats after chat id `after`, all read in one snapshot."""
    async with db.snapshot() as session:
        token = await read_token(session)
        changed = await find_changed_chats(session, user_id, since, after, take)
        states = await load_chats(session, [c.chat_id for c in changed if c.upto_seq is None],
                                  user_id, unread_cap)
        found_changes: list[tuple[list[ChatChange], bool]] = [
            await recent_changes(session, c.chat_id, since, c.upto_seq, changes_max)
            for c in changed]
        # One query for the messages of every chat on the page.
        rendered = iter(await render_changes(
            session, [change for changes, _ in found_changes for change in changes], user_id))
    chats = []
    for found, (changes, limited) in zip(changed, found_changes, strict=True):
        state = states.get(found.chat_id)
        seq = state.seq if state is not None else found.upto_seq or 0
        chats.append(SyncChat(chat_id=found.chat_id, seq=seq, chat=state,
                              changes=[next(rendered) for _ in changes], limited=limited))
    return SyncResult(chats, token)
