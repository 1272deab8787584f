"""`/users` routes."""

from __future__ import annotations

from fastapi import APIRouter

from pipechat.auth.dependencies import CurrentUser
from pipechat.errors import AUTH_ERRORS
from pipechat.users.schemas import UserPublic

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=UserPublic, responses=AUTH_ERRORS)
async def read_me(user: CurrentUser) -> UserPublic:
    """The user the access token belongs to."""
    return UserPublic.model_validate(user)
