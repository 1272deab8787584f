"""Chats and membership: the checks every chat action makes, and chat creation."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.chats.models import Chat, chat_members
from pipechat.chats.schemas import ChatListItem
from pipechat.chats.views import render_items
from pipechat.db import Database
from pipechat.errors import ChatError, ErrorCode


class MembershipCache:
    """Remembers (chat, user) pairs known to be members.

    Only positive answers are kept: a "no" could turn into "yes" when a member is added. A
    member who leaves is forgotten on every process (`ChatsNamespace.members_left`); behind
    that, the message writer checks membership again under the chat's lock.
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        self._members: set[tuple[int, int]] = set()
        self._max_entries = max_entries

    def __contains__(self, pair: tuple[int, int]) -> bool:
        return pair in self._members

    def forget(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Drop memberships that ended."""
        for pair in pairs:
            self._members.discard(pair)

    def remember(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Record known memberships; forget everything when full rather than grow forever."""
        if len(self._members) > self._max_entries:
            self._members.clear()
        self._members.update(pairs)


async def check_chats_membership(
    session: AsyncSession, chat_ids: list[int], user_id: int
) -> None:
    """All or nothing: every chat exists (else code 100) and has `user_id` as member (101)."""
    wanted = list(dict.fromkeys(chat_ids))
    existing = set((await session.scalars(select(Chat.id).where(Chat.id.in_(wanted)))).all())
    for chat_id in wanted:
        if chat_id not in existing:
            raise ChatError(ErrorCode.CHAT_NOT_FOUND, f"chat {chat_id} does not exist")
    member_of = set((await session.scalars(
        select(chat_members.c.chat_id).where(
            chat_members.c.user_id == user_id, chat_members.c.chat_id.in_(wanted)
        )
    )).all())
    for chat_id in wanted:
        if chat_id not in member_of:
            raise ChatError(ErrorCode.NOT_CHAT_MEMBER, f"you are not a member of chat {chat_id}")


async def access_chat_ids(
    db: Database, cache: MembershipCache, chat_ids: list[int], user_id: int
) -> None:
    """Membership check that asks the database only for pairs not seen before."""
    unknown = [chat_id for chat_id in chat_ids if (chat_id, user_id) not in cache]
    if not unknown:
        return
    async with db.read() as session:
        await check_chats_membership(session, unknown, user_id)
    cache.remember((chat_id, user_id) for chat_id in unknown)


async def access_chat(session: AsyncSession, chat_id: int, user_id: int,
                      unread_cap: int) -> ChatListItem:
    """The chat as `user_id` sees it, if it exists (else 100) and they are in it (else 101)."""
    chat = await access_chat_summary(session, chat_id, user_id)
    return (await render_items(session, [chat], user_id, unread_cap))[0]


async def list_chat_ids_of_user(session: AsyncSession, user_id: int) -> list[int]:
    """Ids of every chat `user_id` is a member of, ascending."""
    rows = await session.scalars(
        select(chat_members.c.chat_id).where(chat_members.c.user_id == user_id)
        .order_by(chat_members.c.chat_id)
    )
    return list(rows.all())


async def access_chat_summary(session: AsyncSession, chat_id: int, user_id: int) -> Chat:
    """The chat without its users, in one query: missing -> 100, caller not a member -> 101."""
    row = (await session.execute(
        select(Chat, chat_members.c.user_id)
        .outerjoin(chat_members, (chat_members.c.chat_id == Chat.id)
                   & (chat_members.c.user_id == user_id))
        .where(Chat.id == chat_id)
    )).first()
    if row is None:
        raise ChatError(ErrorCode.CHAT_NOT_FOUND, f"chat {chat_id} does not exist")
    if row[1] is None:
        raise ChatError(ErrorCode.NOT_CHAT_MEMBER, f"you are not a member of chat {chat_id}")
    chat: Chat = row[0]
    return chat
