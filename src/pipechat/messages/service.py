"""Message rules and history queries; saving lives in `pipechat.messages.writer`."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.db import Database
from pipechat.errors import ChatError, ErrorCode, validation_error
from pipechat.messages.models import Message
from pipechat.messages.views import reply_preview
from pipechat.pagination import PageQuery, owned_by, select_page, select_total
from pipechat.users.models import User

log = logging.getLogger("pipechat.messages")


def check_message_text(text: str, max_length: int) -> None:
    """Non-empty and within the configured length (code 104 beyond it)."""
    if not text.strip():
        raise validation_error("message: must not be empty")
    if len(text) > max_length:
        raise ChatError(ErrorCode.MESSAGE_TOO_LONG,
                        f"message: at most {max_length} characters are allowed")


def select_chat_messages(chat_id: int, query: PageQuery, dialect: str) -> Select[Message, str]:
    """One page of a chat's messages with their authors' nicknames.

    Each page is a range scan of the (chat_id, id) index (bench/history_explain.py shows it).
    """
    of_chat = select(Message).where(owned_by(Message.chat_id, chat_id, dialect))
    return select_page(of_chat, Message.id, query, Message.chat_id).add_columns(
        User.nickname).join(User, User.id == Message.author_id)


async def list_chat_messages(session: AsyncSession, chat_id: int, query: PageQuery,
                             ) -> tuple[list[tuple[Message, str]], int | None]:
    """One page of a chat's messages and nicknames; the total in page mode.

    The caller checks membership first.
    """
    dialect = session.get_bind().dialect.name
    page = select_chat_messages(chat_id, query, dialect)
    rows = [(message, nickname) for message, nickname in await session.execute(page)]
    total = None
    if query.page is not None:
        of_chat = select(Message).where(Message.chat_id == chat_id)
        total = int(await session.scalar(select_total(of_chat, Message.id, query)) or 0)
    return rows, total


async def access_reply_target(db: Database, chat_id: int, message_id: int) -> dict[str, Any]:
    """The quote (wire form) of the message a new one replies to; 145 unless it is in the chat.

    Only sends that carry `replyToId` come here. The caller checked the membership.
    """
    async with db.read() as session:
        row = (await session.execute(select(Message, User.nickname)
                                     .join(User, User.id == Message.author_id)
                                     .where(Message.id == message_id))).first()
    if row is None or row[0].chat_id != chat_id:
        raise ChatError(ErrorCode.MESSAGE_NOT_FOUND,
                        f"replyToId: chat {chat_id} has no message {message_id}")
    return reply_preview(row[0], row[1]).model_dump(mode="json", by_alias=True)
