"""`/auth` routes, compatible with the seed's course API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import HTTPAuthorizationCredentials

from pipechat.auth.dependencies import Context, RefreshUser, basic_scheme
from pipechat.auth.schemas import AccessToken, RefreshToken, TokenPair
from pipechat.auth.service import check_login, parse_basic_credentials
from pipechat.errors import AUTH_ERRORS, BAD_INPUT_ERRORS
from pipechat.users.schemas import UserCreate
from pipechat.users.service import do_create_user

router = APIRouter(prefix="/auth", tags=["auth"])
BasicHeader = Annotated[HTTPAuthorizationCredentials | None, Depends(basic_scheme)]


@router.post("/register/email", status_code=status.HTTP_201_CREATED, response_model=TokenPair,
             responses=BAD_INPUT_ERRORS)
async def register_email(data: UserCreate, context: Context) -> TokenPair:
    """Create an account and log it in."""
    user = await do_create_user(context.db, context.passwords, data)
    return TokenPair(access_token=context.tokens.issue(user.id, "access"),
                     refresh_token=context.tokens.issue(user.id, "refresh"))


@router.post("/login/email", response_model=TokenPair, responses=AUTH_ERRORS)
async def login_email(request: Request, context: Context, _doc: BasicHeader) -> TokenPair:
    """Log in with `Authorization: Basic base64(email:password)`."""
    email, password = parse_basic_credentials(request.headers.get("authorization"))
    async with context.db.read() as session:
        user = await check_login(session, context.passwords, email, password)
    return TokenPair(access_token=context.tokens.issue(user.id, "access"),
                     refresh_token=context.tokens.issue(user.id, "refresh"))


@router.post("/token/access", response_model=AccessToken, responses=AUTH_ERRORS)
async def rotate_access_token(user: RefreshUser, context: Context) -> AccessToken:
    """A new access token for the refresh token in the Authorization header."""
    return AccessToken(access_token=context.tokens.issue(user.id, "access"))


@router.post("/token/refresh", response_model=RefreshToken, responses=AUTH_ERRORS)
async def rotate_refresh_token(user: RefreshUser, context: Context) -> RefreshToken:
    """A new refresh token for the refresh token in the Authorization header."""
    return RefreshToken(refresh_token=context.tokens.issue(user.id, "refresh"))
