"""Read markers: each member's newest read message, which only moves forward.

A read is not a change to the chat (it would flood the log: every member reads every
message), so it takes no chat lock and draws no seq. It does move the member's own sync
position, so the reader's other devices learn it from `GET /sync`.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.changes.service import session_position
from pipechat.chats.models import Chat, chat_members
from pipechat.chats.schemas import ReadMarker
from pipechat.context import AppContext
from pipechat.errors import ChatError, ErrorCode
from pipechat.messages.models import Message

M = chat_members.c


async def _membership(session: AsyncSession, chat_id: int,
                      user_id: int) -> tuple[int, int | None]:
    """The chat's newest seq and the member's marker; 100 or 101 as for every chat action."""
    row = (await session.execute(
        select(Chat.last_seq, M.user_id, M.last_read_message_id)
        .outerjoin(chat_members, (M.chat_id == Chat.id) & (M.user_id == user_id))
        .where(Chat.id == chat_id))).first()
    if row is None:
        raise ChatError(ErrorCode.CHAT_NOT_FOUND, f"chat {chat_id} does not exist")
    if row.user_id is None:
        raise ChatError(ErrorCode.NOT_CHAT_MEMBER, f"you are not a member of chat {chat_id}")
    return int(row.last_seq), row.last_read_message_id


async def mark_read(context: AppContext, chat_id: int, user_id: int, message_id: int,
                    origin: str | None = None) -> ReadMarker:
    """Move the member's marker to `message_id` (never back); `read` goes to the others.

    `origin` is the socket that asked, which already knows: it is skipped.
    """
    async with context.db.write() as session:
        seq, current = await _membership(session, chat_id, user_id)
        found = await session.scalar(select(Message.id).where(
            Message.id == message_id, Message.chat_id == chat_id))
        if found is None:
            raise ChatError(ErrorCode.MESSAGE_NOT_FOUND,
                            f"chat {chat_id} has no message {message_id}")
        if current is not None and current >= message_id:
            return ReadMarker(chat_id=chat_id, user_id=user_id, last_read_message_id=current,
                              seq=seq)
        position = await session_position(session)
        await session.execute(update(chat_members).where(
            M.chat_id == chat_id, M.user_id == user_id).values(
            last_read_message_id=message_id, member_position=position))
        members = list(await session.scalars(select(M.user_id).where(M.chat_id == chat_id)))
    marker = ReadMarker(chat_id=chat_id, user_id=user_id, last_read_message_id=message_id,
                        seq=seq)
    await context.publish_to_users("read", marker.model_dump(mode="json", by_alias=True),
                                   members, skip_sid=origin)
    return marker
