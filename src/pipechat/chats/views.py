"""How chats are shown: fields, members with roles and markers, the newest message, and for
one member their unread count."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.chats.models import Chat, chat_members
from pipechat.chats.schemas import ChatListItem, ChatPublic, MemberPublic
from pipechat.messages.models import Message
from pipechat.messages.schemas import MessagePublic
from pipechat.users.models import User
from pipechat.users.schemas import Author, UserPublic


async def load_members(session: AsyncSession,
                       chats: Sequence[Chat]) -> dict[int, list[MemberPublic]]:
    """Each chat's members by user id, in one query for all the chats."""
    kinds = {chat.id: chat.kind for chat in chats}
    members: dict[int, list[MemberPublic]] = defaultdict(list)
    if not kinds:
        return members
    m = chat_members.c
    rows = await session.execute(
        select(m.chat_id, m.role, m.last_read_message_id, User)
        .join(User, User.id == m.user_id)
        .where(m.chat_id.in_(list(kinds))).order_by(m.chat_id, User.id))
    for chat_id, role, last_read, user in rows:
        profile = UserPublic.model_validate(user).model_dump()
        members[chat_id].append(MemberPublic(
            **profile, online=user.online, last_seen_at=user.last_seen_at,
            chat_role=role if kinds[chat_id] == "group" else None,
            last_read_message_id=last_read))
    return members


async def load_last_messages(session: AsyncSession,
                             chats: Sequence[Chat]) -> dict[int, MessagePublic]:
    """Each chat's newest message, by primary key (the chat row names it)."""
    ids = [chat.last_message_id for chat in chats if chat.last_message_id is not None]
    if not ids:
        return {}
    rows = await session.execute(select(Message, User.nickname)
                                 .join(User, User.id == Message.author_id)
                                 .where(Message.id.in_(ids)))
    # Shared by every member (events carry it): no reactions (`me` is per user), no quote.
    return {message.chat_id: MessagePublic(
        id=message.id, chat_id=message.chat_id,
        message=None if message.deleted_at else message.message,
        client_message_id=message.client_message_id,
        author=Author(id=message.author_id, nickname=nickname),
        created_at=message.created_at, seq=message.seq, edited_at=message.edited_at,
        deleted_at=message.deleted_at) for message, nickname in rows}


async def render_chats(session: AsyncSession, chats: Sequence[Chat]) -> list[ChatPublic]:
    """The wire form of `chats` that every member shares (events carry it), in order."""
    members = await load_members(session, chats)
    newest = await load_last_messages(session, chats)
    return [ChatPublic(id=chat.id, kind=chat.kind, name=chat.name,
                       created_at=chat.created_at, updated_at=chat.updated_at,
                       users=members[chat.id], seq=chat.last_seq,
                       last_message=newest.get(chat.id))
            for chat in chats]


async def render_chat(session: AsyncSession, chat: Chat) -> ChatPublic:
    """The shared wire form of one chat."""
    return (await render_chats(session, [chat]))[0]


def select_unread(viewer_id: int, chat_ids: Sequence[int], cap: int) -> Select[tuple[
        int, int | None, int | None, int]]:
    """The viewer's memberships of `chat_ids` with marker, hidden mark and unread count.

    One statement for the whole page. Each count is a correlated range of the messages index
    (chat_id, id, author_id) from the marker on, stopped after `cap` rows: index entries only
    (author_id is in the index), and a chat never read costs no more than `cap` of them.
    """
    m = Message.__table__.c
    mine = chat_members.alias("mine")
    after = (select(m.id).where(m.chat_id == mine.c.chat_id,
                                m.id > func.coalesce(mine.c.last_read_message_id, 0),
                                m.author_id != viewer_id)
             .order_by(m.chat_id, m.id).limit(cap).correlate(mine).subquery("after"))
    unread = select(func.count()).select_from(after).correlate(mine).scalar_subquery()
    return (select(mine.c.chat_id, mine.c.last_read_message_id, mine.c.hidden_upto,
                   unread.label("unread"))
            .where(mine.c.user_id == viewer_id, mine.c.chat_id.in_(list(chat_ids))))


async def render_items(session: AsyncSession, chats: Sequence[Chat], viewer_id: int,
                       cap: int) -> list[ChatListItem]:
    """`chats` as the member `viewer_id` sees them: with unread count and read marker."""
    mine = {row.chat_id: row for row in await session.execute(
        select_unread(viewer_id, [chat.id for chat in chats], cap))}
    items = []
    for chat, public in zip(chats, await render_chats(session, chats), strict=True):
        row = mine.get(chat.id)
        marker = row.last_read_message_id if row is not None else None
        hidden = row is not None and row.hidden_upto is not None \
            and (chat.last_message_id or 0) <= row.hidden_upto
        items.append(ChatListItem(**public.model_dump(), unread_count=row.unread if row else 0,
                                  last_read_message_id=marker, hidden=hidden))
    return items
