"""`/chats` routes: the caller's chats, one chat, and the REST twin of `create_chat`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from pipechat.auth.dependencies import Context, CurrentUser
from pipechat.chats.creation import do_create_chat
from pipechat.chats.schemas import ChatCreate, ChatPublic
from pipechat.chats.service import access_chat, list_user_chats
from pipechat.errors import AUTH_ERRORS, MEMBER_ERRORS, THROTTLED_ERRORS
from pipechat.pagination import MAX_ID, CursorPage, OffsetPage, PageParams, build_page

router = APIRouter(prefix="/chats", tags=["chats"])
ChatIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="the chat's id")]


@router.get("", response_model=CursorPage[ChatPublic] | OffsetPage[ChatPublic],
            responses=AUTH_ERRORS)
async def paginate_chats(request: Request, user: CurrentUser, context: Context,
                         query: PageParams) -> CursorPage[ChatPublic] | OffsetPage[ChatPublic]:
    """The caller's chats with their users, by id (creation order)."""
    async with context.db.read() as session:
        chats, total = await list_user_chats(session, user.id, query)
    items = [ChatPublic.model_validate(chat) for chat in chats]
    return build_page(items, [chat.id for chat in chats], total, query, request,
                      context.settings.public_base_url)


@router.post("", status_code=HTTPStatus.CREATED, response_model=ChatPublic,
             responses=AUTH_ERRORS | THROTTLED_ERRORS
             | {HTTPStatus.OK: {"model": ChatPublic, "description": "the pair's direct chat, "
                                                                   "which existed already"}})
async def create_chat(data: ChatCreate, user: CurrentUser, context: Context,
                      response: Response) -> ChatPublic:
    """Create a chat of the caller and `userIds`; members are told with `chat_created`."""
    await context.limits.check_chat_creation_allowed(user.id)
    created = await do_create_chat(context, user.id, data)
    if not created.created:
        response.status_code = HTTPStatus.OK
    return created.chat


@router.get("/{cid}", response_model=ChatPublic, responses=MEMBER_ERRORS)
async def read_chat(cid: ChatIdPath, user: CurrentUser, context: Context) -> ChatPublic:
    """One chat with its users; only its members may see it."""
    async with context.db.read() as session:
        chat = await access_chat(session, cid, user.id)
    return ChatPublic.model_validate(chat)
