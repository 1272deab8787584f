"""`/chats/{cid}/messages`: a chat's history, paginated as in the seed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from pipechat.auth.dependencies import Context, CurrentUser
from pipechat.chats.router import ChatIdPath
from pipechat.chats.service import access_chat_summary
from pipechat.errors import MEMBER_ERRORS, MESSAGE_ERRORS
from pipechat.messages.actions import delete_message, edit_message
from pipechat.messages.reactions import add_reaction, remove_reaction
from pipechat.messages.schemas import (
    ChatSummary,
    MessageDeleted,
    MessageEdit,
    MessagePublic,
    MessageWithChat,
    ReactionChanged,
)
from pipechat.messages.service import list_chat_messages
from pipechat.messages.views import render_messages
from pipechat.pagination import MAX_ID, CursorPage, OffsetPage, PageParams, build_page

router = APIRouter(prefix="/chats/{cid}/messages", tags=["messages"])
MessagesPage = CursorPage[MessageWithChat] | OffsetPage[MessageWithChat]


@router.get("", response_model=MessagesPage, responses=MEMBER_ERRORS)
async def paginate_messages(cid: ChatIdPath, request: Request, user: CurrentUser,
                            context: Context, query: PageParams) -> MessagesPage:
    """The chat's messages with author and chat, by id; members only."""
    async with context.db.read() as session:
        chat = await access_chat_summary(session, cid, user.id)
        rows, total = await list_chat_messages(session, cid, query)
        fields = await render_messages(session, rows, user.id)
    summary = ChatSummary.model_validate(chat)
    items = [MessageWithChat(**shown, updated_at=message.updated_at, chat=summary)
             for shown, (message, _) in zip(fields, rows, strict=True)]
    return build_page(items, [item.id for item in items], total, query, request,
                      context.settings.public_base_url)


MessageIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="the message's id")]
EmojiPath = Annotated[str, Path(min_length=1, max_length=64,
                                description="one emoji, percent-encoded in the URL")]


@router.patch("/{mid}", response_model=MessagePublic, responses=MESSAGE_ERRORS)
async def update_message(cid: ChatIdPath, mid: MessageIdPath, data: MessageEdit,
                         user: CurrentUser, context: Context) -> MessagePublic:
    """Edit your own message; members get `message_updated`. The same text changes nothing."""
    return await edit_message(context, user.id, mid, data.message, chat_id=cid)


@router.delete("/{mid}", response_model=MessageDeleted, responses=MESSAGE_ERRORS)
async def remove_message(cid: ChatIdPath, mid: MessageIdPath, user: CurrentUser,
                         context: Context) -> MessageDeleted:
    """Delete a message (yours, or any as a group's owner/admin); `message_deleted` follows."""
    return await delete_message(context, user.id, mid, chat_id=cid)


@router.put("/{mid}/reactions/{emoji}", response_model=ReactionChanged,
            responses=MESSAGE_ERRORS)
async def put_reaction(cid: ChatIdPath, mid: MessageIdPath, emoji: EmojiPath,
                       user: CurrentUser, context: Context) -> ReactionChanged:
    """Add your reaction; members get `reaction_added`. Adding it again changes nothing."""
    return await add_reaction(context, user.id, mid, emoji, chat_id=cid)


@router.delete("/{mid}/reactions/{emoji}", response_model=ReactionChanged,
               responses=MESSAGE_ERRORS)
async def delete_reaction(cid: ChatIdPath, mid: MessageIdPath, emoji: EmojiPath,
                          user: CurrentUser, context: Context) -> ReactionChanged:
    """Remove your reaction; members get `reaction_removed`. If absent, nothing changes."""
    return await remove_reaction(context, user.id, mid, emoji, chat_id=cid)
