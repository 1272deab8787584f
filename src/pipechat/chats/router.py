"""`/chats` routes: the caller's chats, one chat, creating chats and managing groups."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from pipechat.auth.dependencies import Context, CurrentUser
from pipechat.chats.creation import do_create_chat
from pipechat.chats.members import add_members, change_role, remove_member, rename_chat
from pipechat.chats.reads import mark_read
from pipechat.chats.schemas import (
    ChatCreate,
    ChatPublic,
    ChatRename,
    MemberRemoved,
    MemberRoleUpdate,
    MembersAdd,
    ReadMark,
    ReadMarker,
)
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
    return build_page(chats, [chat.id for chat in chats], total, query, request,
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
        return await access_chat(session, cid, user.id)


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
