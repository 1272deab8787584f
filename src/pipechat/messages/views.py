"""How stored messages are shown: latest text or tombstone, the reply quote, the reactions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.messages.models import Message, Reaction
from pipechat.messages.schemas import MessagePublic, ReactionCount, ReplyPreview
from pipechat.users.models import User
from pipechat.users.schemas import Author

# How much of the original a reply quotes, in characters (the quote ends with "…" when cut).
REPLY_EXCERPT_LENGTH = 100


def excerpt(text: str) -> str:
    """The first `REPLY_EXCERPT_LENGTH` characters of `text`, "…" marking a cut."""
    if len(text) <= REPLY_EXCERPT_LENGTH:
        return text
    return text[:REPLY_EXCERPT_LENGTH - 1] + "…"


def reply_preview(message: Message, nickname: str) -> ReplyPreview:
    """The quote of `message` a reply carries; a tombstone once it is deleted."""
    return ReplyPreview(id=message.id, author=Author(id=message.author_id, nickname=nickname),
                        message=None if message.deleted_at else excerpt(message.message),
                        deleted_at=message.deleted_at)


async def load_replies(session: AsyncSession,
                       messages: Sequence[Message]) -> dict[int, ReplyPreview]:
    """The quotes of the messages these reply to, by the quoted message's id (one query)."""
    ids = sorted({m.reply_to_id for m in messages if m.reply_to_id is not None})
    if not ids:
        return {}
    rows = await session.execute(select(Message, User.nickname)
                                 .join(User, User.id == Message.author_id)
                                 .where(Message.id.in_(ids)))
    return {message.id: reply_preview(message, nickname) for message, nickname in rows}


async def load_reactions(session: AsyncSession, message_ids: Sequence[int],
                         viewer_id: int | None) -> dict[int, list[ReactionCount]]:
    """Each message's emoji with counts, oldest emoji first; `me` is about `viewer_id`."""
    found: dict[int, list[ReactionCount]] = defaultdict(list)
    if not message_ids:
        return found
    mine = func.max(case((Reaction.user_id == viewer_id, 1), else_=0))
    rows = await session.execute(
        select(Reaction.message_id, Reaction.emoji, func.count(), mine)
        .where(Reaction.message_id.in_(list(message_ids)))
        .group_by(Reaction.message_id, Reaction.emoji)
        .order_by(Reaction.message_id, func.min(Reaction.created_at), Reaction.emoji))
    for message_id, emoji, count, me in rows:
        found[message_id].append(ReactionCount(emoji=emoji, count=count, me=bool(me)))
    return found


def message_fields(message: Message, nickname: str, replies: dict[int, ReplyPreview],
                   reactions: dict[int, list[ReactionCount]]) -> dict[str, Any]:
    """The `MessagePublic` fields of a stored message."""
    reply = replies.get(message.reply_to_id) if message.reply_to_id is not None else None
    return {"id": message.id, "chat_id": message.chat_id,
            "message": None if message.deleted_at else message.message,
            "client_message_id": message.client_message_id,
            "author": Author(id=message.author_id, nickname=nickname),
            "created_at": message.created_at, "seq": message.seq,
            "edited_at": message.edited_at, "deleted_at": message.deleted_at,
            "reply_to": reply, "reactions": reactions.get(message.id, [])}


async def render_messages(session: AsyncSession, rows: Sequence[tuple[Message, str]],
                          viewer_id: int | None) -> list[dict[str, Any]]:
    """The fields of each (message, author nickname), with quotes and reactions loaded."""
    messages = [message for message, _ in rows]
    replies = await load_replies(session, messages)
    reactions = await load_reactions(session, [m.id for m in messages], viewer_id)
    return [message_fields(message, nickname, replies, reactions) for message, nickname in rows]


async def render_message(session: AsyncSession, message: Message,
                         viewer_id: int | None) -> MessagePublic:
    """One stored message as `MessagePublic`."""
    nickname = await session.scalar(select(User.nickname).where(User.id == message.author_id))
    fields = (await render_messages(session, [(message, nickname or "")], viewer_id))[0]
    return MessagePublic(**fields)
