"""`/users` routes."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import AfterValidator

from pipechat.auth.dependencies import Context, CurrentUser
from pipechat.errors import AUTH_ERRORS, error_responses
from pipechat.presence.service import check_shares_chat
from pipechat.schemas import check_storable
from pipechat.users.blocks import block_user, list_blocks, unblock_user
from pipechat.users.schemas import (
    Author,
    BlockCreate,
    BlockedUser,
    BlockList,
    UserMe,
    UserProfile,
    UserPublic,
)
from pipechat.users.service import access_user, access_user_by_nickname

router = APIRouter(prefix="/users", tags=["users"])

# A nickname longer than any allowed one, or one no database can hold, is a malformed
# request, not an unknown user.
NicknamePath = Annotated[str, Path(min_length=1, max_length=20), AfterValidator(check_storable)]


@router.get("/me", response_model=UserMe, responses=AUTH_ERRORS)
async def read_me(user: CurrentUser) -> UserMe:
    """The user the access token belongs to; the only answer that shows an email."""
    return UserMe.model_validate(user)


@router.get("/by-nickname/{nickname}", response_model=Author,
            responses=error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED,
                                      HTTPStatus.NOT_FOUND))
async def read_user_by_nickname(nickname: NicknamePath, _user: CurrentUser,
                                context: Context) -> Author:
    """Find someone to chat with: only the id and nickname, never the email."""
    return Author.model_validate(await access_user_by_nickname(context.db, nickname))


UserIdPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="the user's id")]


@router.get("/{uid}", response_model=UserProfile, response_model_exclude_unset=True,
            responses=error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED,
                                      HTTPStatus.NOT_FOUND))
async def read_user(uid: UserIdPath, user: CurrentUser, context: Context) -> UserProfile:
    """A user's public profile; `online` and `lastSeenAt` only if you share a chat with them."""
    async with context.db.read() as session:
        found = await access_user(session, uid)
        # Not validated from the row, which has the presence fields: strangers get none.
        public = UserPublic.model_validate(found).model_dump()
        if await check_shares_chat(session, user.id, uid):
            return UserProfile(**public, online=found.online, last_seen_at=found.last_seen_at)
    return UserProfile(**public)


BlockedIdPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="the blocked user's id")]


@router.post("/me/blocks", status_code=HTTPStatus.CREATED, response_model=BlockedUser,
             responses=AUTH_ERRORS | {int(HTTPStatus.OK): {
                 "model": BlockedUser, "description": "they were blocked already"}})
async def create_block(data: BlockCreate, user: CurrentUser, context: Context,
                       response: Response) -> BlockedUser:
    """Block a user: they can no longer start a direct chat with you or add you to a group."""
    blocked, created = await block_user(context.db, user.id, data.user_id,
                                        context.settings.blocks_per_user)
    if not created:
        response.status_code = HTTPStatus.OK
    return blocked


@router.delete("/me/blocks/{uid}", status_code=HTTPStatus.NO_CONTENT, responses=AUTH_ERRORS)
async def delete_block(uid: BlockedIdPath, user: CurrentUser, context: Context) -> None:
    """Unblock a user (done even if they were not blocked)."""
    await unblock_user(context.db, user.id, uid)


@router.get("/me/blocks", response_model=BlockList, responses=AUTH_ERRORS)
async def read_blocks(user: CurrentUser, context: Context) -> BlockList:
    """Everyone you blocked, most recent first."""
    return BlockList(data=await list_blocks(context.db, user.id))
