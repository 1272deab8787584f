"""`/chats` routes: the caller's chats, one chat, creating chats and managing groups."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from pipechat.auth.dependencies import Context, CurrentUser
from pipechat.chats.creation import do_create_chat
from pipechat.chats.listing import ChatsParams, encode_cursor, list_by_activity, list_by_id
from pipechat.chats.members import add_members, change_role, remove_member, rename_chat
from pipechat.chats.models import Chat
from pipechat.chats.reads import mark_read
from pipechat.chats.schemas import (
    ActivityCursor,
    ActivityPage,
    ChatCreate,
    ChatListItem,
    ChatPublic,
    ChatRename,
    MemberRemoved,
    MemberRoleUpdate,
    MembersAdd,
    ReadMark,
    ReadMarker,
)
from pipechat.chats.service import access_chat
from pipechat.chats.views import render_items
from pipechat.context import AppContext
from pipechat.errors import AUTH_ERRORS, MEMBER_ERRORS, THROTTLED_ERRORS
from pipechat.pagination import MAX_ID, CursorPage, OffsetPage, build_page, link_with

router = APIRouter(prefix="/chats", tags=["chats"])
ChatIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="the chat's id")]


ChatsPage = CursorPage[ChatListItem] | OffsetPage[ChatListItem] | ActivityPage


@router.get("", response_model=ChatsPage, responses=AUTH_ERRORS)
async def paginate_chats(request: Request, user: CurrentUser, context: Context,
                         query: ChatsParams) -> ChatsPage:
    """The caller's chats: by id (the seed's pagination), or `sort=activity`."""
    cap = context.settings.unread_count_max
    async with context.db.read() as session:
        if query.sort == "activity":
            chats = await list_by_activity(session, user.id, query.activity_before, query.take)
            items = await render_items(session, chats, user.id, cap)
            return _activity_page(request, context, chats, items, query.take)
        chats, total = await list_by_id(session, user.id, query)
        items = await render_items(session, chats, user.id, cap)
    return build_page(items, [chat.id for chat in chats], total, query, request,
                      context.settings.public_base_url)


def _activity_page(request: Request, context: AppContext, chats: list[Chat],
                   items: list[ChatListItem], take: int) -> ActivityPage:
    before = encode_cursor(chats[-1]) if chats and len(chats) == take else None
    link = None if before is None else link_with(request, context.settings.public_base_url,
                                                 {"activity_before": before})
    return ActivityPage(data=items, cursor=ActivityCursor(before=before), count=len(items),
                        next=link)


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


@router.get("/{cid}", response_model=ChatListItem, responses=MEMBER_ERRORS)
async def read_chat(cid: ChatIdPath, user: CurrentUser, context: Context) -> ChatListItem:
    """One chat with its users, as the caller sees it; only its members may see it."""
    async with context.db.read() as session:
        return await access_chat(session, cid, user.id, context.settings.unread_count_max)


UserIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="the member's user id")]


@router.patch("/{cid}", response_model=ChatPublic, responses=MEMBER_ERRORS)
async def update_chat(cid: ChatIdPath, data: ChatRename, user: CurrentUser,
                      context: Context) -> ChatPublic:
    """Rename a group (owner or admin); members are told with `chat_updated`."""
    return await rename_chat(context, cid, user.id, data.name)


@router.post("/{cid}/members", response_model=ChatPublic, responses=MEMBER_ERRORS)
async def add_chat_members(cid: ChatIdPath, data: MembersAdd, user: CurrentUser,
                           context: Context) -> ChatPublic:
    """Add users to a group (owner or admin); members old and new get `member_added`."""
    return await add_members(context, cid, user.id, data.user_ids)


@router.delete("/{cid}/members/{uid}", response_model=MemberRemoved, responses=MEMBER_ERRORS)
async def remove_chat_member(cid: ChatIdPath, uid: UserIdPath, user: CurrentUser,
                             context: Context) -> MemberRemoved:
    """Remove a member of lower role, or leave with your own id; `member_removed` follows."""
    return await remove_member(context, cid, user.id, uid)


@router.patch("/{cid}/members/{uid}", response_model=ChatPublic, responses=MEMBER_ERRORS)
async def update_chat_member(cid: ChatIdPath, uid: UserIdPath, data: MemberRoleUpdate,
                             user: CurrentUser, context: Context) -> ChatPublic:
    """Change a member's role (the owner only); members get `member_updated`."""
    return await change_role(context, cid, user.id, uid, data.role)


@router.post("/{cid}/read", response_model=ReadMarker, responses=MEMBER_ERRORS)
async def read_chat_messages(cid: ChatIdPath, data: ReadMark, user: CurrentUser,
                             context: Context) -> ReadMarker:
    """Mark messages up to `messageId` read (never backwards); `read` goes to the others."""
    return await mark_read(context, cid, user.id, data.message_id)
