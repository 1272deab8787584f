"""Reactions: one emoji per user, message and emoji; each addition and removal is a change.

A change records the emoji's count after it, so a client replaying the log (or a live event)
sets the count rather than adding to it: replaying a change twice, or after a `message`
change that already showed the newest counts, lands on the server's state.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.changes.service import NewChange, append_changes
from pipechat.chats.members import Outcome, publish
from pipechat.context import AppContext
from pipechat.errors import ChatError, ErrorCode, validation_error
from pipechat.messages.actions import Opened, open_message, require_not_deleted
from pipechat.messages.emoji import MAX_EMOJI_LENGTH, is_emoji
from pipechat.messages.models import Reaction
from pipechat.messages.schemas import ReactionChanged


def check_emoji(emoji: str) -> None:
    """Exactly one emoji (103 otherwise)."""
    if not is_emoji(emoji):
        raise validation_error(f"emoji: must be exactly one emoji (at most {MAX_EMOJI_LENGTH} "
                               "code points)")


async def _count(session: AsyncSession, message_id: int, emoji: str) -> int:
    return int(await session.scalar(select(func.count()).select_from(Reaction).where(
        Reaction.message_id == message_id, Reaction.emoji == emoji)) or 0)


async def _has(session: AsyncSession, message_id: int, user_id: int, emoji: str) -> bool:
    return await session.scalar(select(Reaction.user_id).where(
        Reaction.message_id == message_id, Reaction.emoji == emoji,
        Reaction.user_id == user_id)) is not None


async def _check_room_for(session: AsyncSession, message_id: int, emoji: str,
                          cap: int) -> None:
    """A new emoji on a message that has `cap` different ones already is refused (162)."""
    emojis = set(await session.scalars(select(Reaction.emoji).distinct().where(
        Reaction.message_id == message_id)))
    if emoji not in emojis and len(emojis) >= cap:
        raise ChatError(ErrorCode.TOO_MANY_REACTIONS,
                        f"a message has at most {cap} different reactions", {"max": cap})


async def add_reaction(context: AppContext, actor_id: int, message_id: int, emoji: str,
                       chat_id: int | None = None) -> ReactionChanged:
    """Put the caller's `emoji` on a message; members get `reaction_added`. Twice: no-op."""
    check_emoji(emoji)
    async with context.db.write() as session:
        opened = await open_message(session, message_id, actor_id, chat_id)
        require_not_deleted(opened.message)
        if await _has(session, message_id, actor_id, emoji):
            return await _unchanged(session, opened, actor_id, emoji)
        await _check_room_for(session, message_id, emoji,
                              context.settings.reactions_per_message_max)
        session.add(Reaction(message_id=message_id, user_id=actor_id, emoji=emoji))
        await session.flush()
        changed = await _record(session, opened, actor_id, emoji, "reaction_added")
    await _tell(context, opened, "reaction_added", changed)
    return changed


async def remove_reaction(context: AppContext, actor_id: int, message_id: int, emoji: str,
                          chat_id: int | None = None) -> ReactionChanged:
    """Take the caller's `emoji` off; members get `reaction_removed`. If absent: no-op."""
    check_emoji(emoji)
    async with context.db.write() as session:
        opened = await open_message(session, message_id, actor_id, chat_id)
        require_not_deleted(opened.message)
        if not await _has(session, message_id, actor_id, emoji):
            return await _unchanged(session, opened, actor_id, emoji)
        await session.execute(delete(Reaction).where(
            Reaction.message_id == message_id, Reaction.emoji == emoji,
            Reaction.user_id == actor_id))
        changed = await _record(session, opened, actor_id, emoji, "reaction_removed")
    await _tell(context, opened, "reaction_removed", changed)
    return changed


async def _unchanged(session: AsyncSession, opened: Opened, actor_id: int,
                     emoji: str) -> ReactionChanged:
    return ReactionChanged(chat_id=opened.chat.id, message_id=opened.message.id,
                           user_id=actor_id, emoji=emoji,
                           count=await _count(session, opened.message.id, emoji),
                           seq=opened.chat.last_seq)


async def _record(session: AsyncSession, opened: Opened, actor_id: int, emoji: str,
                  kind: str) -> ReactionChanged:
    message_id = opened.message.id
    count = await _count(session, message_id, emoji)
    recorded = await append_changes(session, opened.chat, [NewChange(
        kind, actor_id, {"messageId": message_id, "userId": actor_id, "emoji": emoji,
                         "count": count}, message_id)])
    return ReactionChanged(chat_id=opened.chat.id, message_id=message_id, user_id=actor_id,
                           emoji=emoji, count=count, seq=recorded.last_seq)


async def _tell(context: AppContext, opened: Opened, event: str,
                changed: ReactionChanged) -> None:
    outcome = Outcome(opened.chat.id)
    outcome.tell(event, changed.model_dump(mode="json", by_alias=True), list(opened.members))
    await publish(context, outcome)
