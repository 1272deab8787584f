"""How chats are shown: a chat's fields with its members' profiles and roles."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.chats.models import Chat, chat_members
from pipechat.chats.schemas import ChatPublic, MemberPublic
from pipechat.users.models import User
from pipechat.users.schemas import UserPublic


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
            **profile, chat_role=role if kinds[chat_id] == "group" else None,
            last_read_message_id=last_read))
    return members


async def render_chats(session: AsyncSession, chats: Sequence[Chat]) -> list[ChatPublic]:
    """The wire form of `chats`, in the same order."""
    members = await load_members(session, chats)
    return [ChatPublic(id=chat.id, kind=chat.kind, name=chat.name,
                       created_at=chat.created_at, updated_at=chat.updated_at,
                       users=members[chat.id], seq=chat.last_seq)
            for chat in chats]


async def render_chat(session: AsyncSession, chat: Chat) -> ChatPublic:
    """The wire form of one chat."""
    return (await render_chats(session, [chat]))[0]
