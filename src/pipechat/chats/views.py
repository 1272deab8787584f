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
from pipechat.pagination import owned_by
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
    return {message.chat_id: MessagePublic(
        id=message.id, chat_id=message.chat_id, message=message.message,
        client_message_id=message.client_message_id,
        author=Author(id=message.author_id, nickname=nickname),
        created_at=message.created_at, seq=message.seq) for message, nickname in rows}


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


def select_unread(chat_id: int, viewer_id: int, marker: int | None, cap: int,
                  dialect: str) -> Select[int]:
    """Messages of others after the marker, counting at most `cap` of them.

    A range of the (chat_id, id) index from the marker on, stopped after `cap` rows, so a
    chat never read costs no more than one read to the cap.
    """
    m = Message.__table__.c
    after = (select(m.id).where(owned_by(m.chat_id, chat_id, dialect), m.id > (marker or 0),
                                m.author_id != viewer_id)
             .order_by(m.chat_id, m.id).limit(cap).subquery())
    return select(func.count()).select_from(after)


async def count_unread(session: AsyncSession, chat_id: int, viewer_id: int,
                       marker: int | None, cap: int) -> int:
    """`select_unread`'s count."""
    dialect = session.get_bind().dialect.name
    return int(await session.scalar(select_unread(chat_id, viewer_id, marker, cap, dialect))
               or 0)


async def render_items(session: AsyncSession, chats: Sequence[Chat], viewer_id: int,
                       cap: int) -> list[ChatListItem]:
    """`chats` as the member `viewer_id` sees them: with unread count and read marker."""
    m = chat_members.c
    mine = {row.chat_id: row for row in await session.execute(
        select(m.chat_id, m.last_read_message_id, m.hidden_upto).where(
            m.user_id == viewer_id, m.chat_id.in_([chat.id for chat in chats])))}
    items = []
    for chat, public in zip(chats, await render_chats(session, chats), strict=True):
        row = mine.get(chat.id)
        marker = row.last_read_message_id if row is not None else None
        hidden = row is not None and row.hidden_upto is not None \
            and (chat.last_message_id or 0) <= row.hidden_upto
        unread = 0
        if chat.last_message_id is not None and (marker is None
                                                  or chat.last_message_id > marker):
            unread = await count_unread(session, chat.id, viewer_id, marker, cap)
        items.append(ChatListItem(**public.model_dump(), unread_count=unread,
                                  last_read_message_id=marker, hidden=hidden))
    return items
