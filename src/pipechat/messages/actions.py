"""Editing and deleting messages, each a change in the chat's log.

Like managing a group (`pipechat.chats.members`), every action locks the chat's row first
(the lock that numbers its changes and orders its message ids), checks the caller against
what it reads under that lock, records its change, and only after commit publishes. Retries
change nothing twice: the same text again is no edit, a deleted message stays deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.changes.service import NewChange, append_changes
from pipechat.chats.members import RANK, Member, Outcome, open_chat, publish
from pipechat.chats.models import Chat
from pipechat.context import AppContext
from pipechat.db import utc_now
from pipechat.errors import ChatError, ErrorCode
from pipechat.messages.models import Message, Reaction
from pipechat.messages.schemas import MessageDeleted, MessagePublic
from pipechat.messages.service import check_message_text
from pipechat.messages.views import render_message


@dataclass(frozen=True, slots=True)
class Opened:
    """A message and its chat, read under the chat's lock, with the chat's members."""

    chat: Chat
    members: dict[int, Member]
    message: Message


def _not_found(chat_id: int | None, message_id: int) -> ChatError:
    where = f"chat {chat_id}" if chat_id is not None else "any of your chats"
    return ChatError(ErrorCode.MESSAGE_NOT_FOUND, f"{where} has no message {message_id}")


async def open_message(session: AsyncSession, message_id: int, actor_id: int,
                       chat_id: int | None = None) -> Opened:
    """The message, its chat locked and its members; 145 when it is not in `chat_id`.

    Without `chat_id` (socket events name only the message) a message of a chat the caller
    is not in is reported as missing (145), so ids of other chats reveal nothing.
    """
    found = await session.scalar(select(Message.chat_id).where(Message.id == message_id))
    if found is None or (chat_id is not None and found != chat_id):
        if chat_id is not None:  # 100/101 for the chat first, as every chat route does
            await open_chat(session, chat_id, actor_id)
        raise _not_found(chat_id, message_id)
    try:
        chat, members = await open_chat(session, found, actor_id)
    except ChatError as error:
        if chat_id is None and error.code is ErrorCode.NOT_CHAT_MEMBER:
            raise _not_found(None, message_id) from None
        raise
    message = await session.scalar(select(Message).where(Message.id == message_id)
                                   .execution_options(populate_existing=True))
    if message is None:  # the chat went away between the two reads
        raise _not_found(chat_id, message_id)
    return Opened(chat, members, message)


def _wire_time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def require_not_deleted(message: Message) -> None:
    """Deleted messages take no edits and no reactions (160)."""
    if message.deleted_at is not None:
        raise ChatError(ErrorCode.MESSAGE_DELETED, f"message {message.id} was deleted")


def message_wire(message: MessagePublic) -> dict[str, Any]:
    """A message as `message_updated` carries it: reactions are left out (`me` is per user,
    and an edit does not change them)."""
    return message.model_dump(mode="json", by_alias=True, exclude={"reactions"})


async def edit_message(context: AppContext, actor_id: int, message_id: int, text: str,
                       chat_id: int | None = None) -> MessagePublic:
    """The author replaces the text; members get `message_updated`. Same text: no change."""
    check_message_text(text, context.settings.message_max_length)
    async with context.db.write() as session:
        opened = await open_message(session, message_id, actor_id, chat_id)
        message = opened.message
        if message.author_id != actor_id:
            raise ChatError(ErrorCode.NOT_MESSAGE_AUTHOR,
                            "only the author may edit a message")
        require_not_deleted(message)
        if message.message == text:
            return await render_message(session, message, actor_id)
        now = utc_now()
        message.message, message.edited_at, message.updated_at = text, now, now
        recorded = await append_changes(session, opened.chat, [
            NewChange("message_updated", actor_id, None, message_id)])
        await session.flush()
        public = await render_message(session, message, actor_id)
    outcome = Outcome(opened.chat.id)
    outcome.tell("message_updated", {"message": message_wire(public), "by": actor_id,
                                     "seq": recorded.last_seq}, list(opened.members))
    await publish(context, outcome)
    return public


def _may_delete(opened: Opened, actor_id: int) -> bool:
    if opened.message.author_id == actor_id:
        return True
    return opened.chat.kind == "group" and RANK[opened.members[actor_id].role] >= RANK["admin"]


async def delete_message(context: AppContext, actor_id: int, message_id: int,
                         chat_id: int | None = None) -> MessageDeleted:
    """Erase the text (the row stays, a tombstone) and its reactions; `message_deleted`.

    The author may, and in a group its owner and admins. Deleting again changes nothing.
    """
    async with context.db.write() as session:
        opened = await open_message(session, message_id, actor_id, chat_id)
        message = opened.message
        if not _may_delete(opened, actor_id):
            raise ChatError(ErrorCode.NOT_MESSAGE_AUTHOR, "only the author (or, in a group, "
                            "its owner and admins) may delete a message")
        if message.deleted_at is not None:
            return MessageDeleted(chat_id=opened.chat.id, message_id=message_id,
                                  deleted_at=message.deleted_at, by=None,
                                  seq=opened.chat.last_seq)
        now = utc_now()
        # The text is overwritten, not hidden; reactions go with it.
        message.message, message.deleted_at, message.updated_at = "", now, now
        await session.execute(delete(Reaction).where(Reaction.message_id == message_id))
        recorded = await append_changes(session, opened.chat, [
            NewChange("message_deleted", actor_id,
                      {"messageId": message_id, "deletedAt": _wire_time(now)}, message_id)])
    deleted = MessageDeleted(chat_id=opened.chat.id, message_id=message_id, deleted_at=now,
                             by=actor_id, seq=recorded.last_seq)
    outcome = Outcome(opened.chat.id)
    outcome.tell("message_deleted", deleted.model_dump(mode="json", by_alias=True),
                 list(opened.members))
    await publish(context, outcome)
    return deleted
