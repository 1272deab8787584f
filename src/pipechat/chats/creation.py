"""Creating chats: groups, and direct chats that exist at most once per pair of users."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.changes.service import NewChange, append_changes, session_position
from pipechat.chats.models import Chat, chat_members
from pipechat.chats.schemas import MAX_NAME_LENGTH, ChatCreate, ChatPublic
from pipechat.chats.views import render_chat
from pipechat.context import AppContext
from pipechat.errors import ChatError, ErrorCode, validation_error
from pipechat.messages.models import Message
from pipechat.users.blocks import check_not_blocked
from pipechat.users.models import User


@dataclass(frozen=True, slots=True)
class CreatedChat:
    """The chat asked for, and whether this call made it (a direct chat may exist already)."""

    chat: ChatPublic
    created: bool


def direct_key(first: int, second: int) -> str:
    """The key that makes a pair's direct chat unique, whoever starts it."""
    return f"{min(first, second)}:{max(first, second)}"


def _member_ids(creator_id: int, data: ChatCreate, max_members: int) -> list[int]:
    """Who will be in the chat, once the request's shape is checked (103, 142)."""
    member_ids = sorted({creator_id, *data.user_ids})
    if len(member_ids) < 2:
        raise validation_error("userIds: name at least one user besides yourself",
                               {"fields": ["userIds"]})
    if data.kind == "direct":
        if data.name is not None:
            raise validation_error("name: a direct chat has no name")
        if len(member_ids) != 2:
            raise validation_error("userIds: a direct chat is with exactly one other user")
    elif len(member_ids) > max_members:
        raise ChatError(ErrorCode.TOO_MANY_MEMBERS,
                        f"a group has at most {max_members} members", {"max": max_members})
    return member_ids


async def known_users(session: AsyncSession, member_ids: list[int]) -> list[User]:
    """The users with these ids, by id; code 102 naming the ids that do not exist."""
    users = list(await session.scalars(select(User).where(User.id.in_(member_ids))
                                       .order_by(User.id)))
    if len(users) != len(member_ids):
        known = {user.id for user in users}
        missing = [uid for uid in member_ids if uid not in known]
        raise ChatError(ErrorCode.UNKNOWN_USERS, f"unknown user ids: {missing}",
                        {"userIds": missing})
    return users


def _group_name(users: list[User]) -> str:
    """A name for a group created without one: its members' nicknames."""
    return ", ".join(user.nickname for user in users)[:MAX_NAME_LENGTH]


async def _existing_direct(context: AppContext, key: str, user_id: int) -> ChatPublic | None:
    """The pair's direct chat, shown again in `user_id`'s list if they had left it."""
    async with context.db.read() as session:
        chat = await session.scalar(select(Chat).where(Chat.direct_key == key))
        if chat is None:
            return None
        hidden = await session.scalar(select(chat_members.c.hidden_upto).where(
            chat_members.c.chat_id == chat.id, chat_members.c.user_id == user_id))
        public = await render_chat(session, chat)
    if hidden is not None:
        async with context.db.write() as session:
            position = await session_position(session)
            await session.execute(update(chat_members).where(
                chat_members.c.chat_id == chat.id, chat_members.c.user_id == user_id)
                .values(hidden_upto=None, member_position=position))
    return public


async def _insert_chat(context: AppContext, creator_id: int, data: ChatCreate,
                       member_ids: list[int], key: str | None) -> ChatPublic:
    async with context.db.write() as session:
        users = await known_users(session, member_ids)
        await check_not_blocked(session, creator_id,
                                [uid for uid in member_ids if uid != creator_id])
        name = None if data.kind == "direct" else data.name or _group_name(users)
        # A new chat ranks by activity as if it had the newest message of all just now.
        newest = await session.scalar(select(func.max(Message.id)))
        chat = Chat(kind=data.kind, name=name, direct_key=key, activity=newest or 0)
        session.add(chat)
        await session.flush()
        recorded = await append_changes(session, chat, [NewChange(
            "chat_created", creator_id, {"kind": data.kind, "name": name,
                                         "userIds": member_ids})])
        await session.execute(chat_members.insert(), [
            {"chat_id": chat.id, "user_id": uid, "member_position": recorded.position,
             "joined_seq": recorded.last_seq,
             "role": "owner" if uid == creator_id and data.kind == "group" else "member"}
            for uid in member_ids])
        return await render_chat(session, chat)


async def do_create_chat(context: AppContext, creator_id: int, data: ChatCreate) -> CreatedChat:
    """Create a chat of `creator_id` and `data.userIds`, then tell every member.

    A direct chat that exists already is returned as it is, and nobody is told anything.
    """
    member_ids = _member_ids(creator_id, data, context.settings.chat_max_members)
    key = direct_key(*member_ids) if data.kind == "direct" else None
    if key is not None and (existing := await _existing_direct(context, key, creator_id)):
        return CreatedChat(existing, created=False)
    try:
        public = await _insert_chat(context, creator_id, data, member_ids, key)
    except IntegrityError:
        # Two first messages crossing: the other request made the pair's chat just now.
        if key is None or (existing := await _existing_direct(context, key, creator_id)) is None:
            raise
        return CreatedChat(existing, created=False)
    # After commit only: a member told about a chat must be able to enter it.
    await context.publish_to_users("chat_created", public.model_dump(mode="json", by_alias=True),
                                   member_ids)
    return CreatedChat(public, created=True)
