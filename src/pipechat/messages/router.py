"""`/chats/{cid}/messages`: a chat's history, paginated as in the seed."""

from __future__ import annotations

from fastapi import APIRouter, Request

from pipechat.auth.dependencies import Context, CurrentUser
from pipechat.chats.router import ChatIdPath
from pipechat.chats.service import access_chat_summary
from pipechat.errors import MEMBER_ERRORS
from pipechat.messages.schemas import ChatSummary, MessageWithChat
from pipechat.messages.service import list_chat_messages
from pipechat.pagination import CursorPage, OffsetPage, PageParams, build_page
from pipechat.users.schemas import Author

router = APIRouter(prefix="/chats/{cid}/messages", tags=["messages"])
MessagesPage = CursorPage[MessageWithChat] | OffsetPage[MessageWithChat]


@router.get("", response_model=MessagesPage, responses=MEMBER_ERRORS)
async def paginate_messages(cid: ChatIdPath, request: Request, user: CurrentUser,
                            context: Context, query: PageParams) -> MessagesPage:
    """The chat's messages with author and chat, by id; members only."""
    async with context.db.read() as session:
        chat = await access_chat_summary(session, cid, user.id)
        rows, total = await list_chat_messages(session, cid, query)
    summary = ChatSummary.model_validate(chat)
    items = [
        MessageWithChat(id=message.id, chat_id=message.chat_id, message=message.message,
                        client_message_id=message.client_message_id,
                        author=Author(id=message.author_id, nickname=nickname),
                        created_at=message.created_at, updated_at=message.updated_at,
                        seq=message.seq, chat=summary)
        for message, nickname in rows
    ]
    return build_page(items, [item.id for item in items], total, query, request,
                      context.settings.public_base_url)
