"""`/users` routes."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import AfterValidator

from pipechat.auth.dependencies import Context, CurrentUser
from pipechat.errors import AUTH_ERRORS, error_responses
from pipechat.schemas import check_storable
from pipechat.users.schemas import Author, UserMe
from pipechat.users.service import access_user_by_nickname

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
