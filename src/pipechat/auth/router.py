"""`/auth` routes, compatible with the seed's course API, plus logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials

from pipechat.auth.dependencies import AnyTokenClaims, Context, RefreshClaims, basic_scheme
from pipechat.auth.schemas import AccessToken, RefreshToken, TokenPair
from pipechat.auth.service import check_login, parse_basic_credentials
from pipechat.auth.sessions import (
    do_issue_access_token,
    do_logout,
    do_rotate_refresh_token,
    do_start_session,
)
from pipechat.errors import AUTH_ERRORS, BAD_INPUT_ERRORS, THROTTLED_ERRORS
from pipechat.limits.service import client_address
from pipechat.users.schemas import UserCreate
from pipechat.users.service import do_create_user

router = APIRouter(prefix="/auth", tags=["auth"])
BasicHeader = Annotated[HTTPAuthorizationCredentials | None, Depends(basic_scheme)]


@router.post("/register/email", status_code=status.HTTP_201_CREATED, response_model=TokenPair,
             responses=BAD_INPUT_ERRORS | THROTTLED_ERRORS)
async def register_email(data: UserCreate, request: Request, context: Context) -> TokenPair:
    """Create an account and log it in (a new session)."""
    await context.limits.check_registration_allowed(client_address(request))
    user = await do_create_user(context.db, context.passwords, data)
    return await do_start_session(context, user.id)


@router.post("/login/email", response_model=TokenPair,
             responses=AUTH_ERRORS | THROTTLED_ERRORS)
async def login_email(request: Request, context: Context, _doc: BasicHeader) -> TokenPair:
    """Log in with `Authorization: Basic base64(email:password)` (UTF-8); a new session."""
    email, password = parse_basic_credentials(request.headers.get("authorization"))
    async with (context.limits.login_attempt(email, client_address(request)),
                context.db.read() as session):
        user = await check_login(session, context.passwords, email, password)
    return await do_start_session(context, user.id)


@router.post("/token/access", response_model=AccessToken, responses=AUTH_ERRORS)
async def rotate_access_token(claims: RefreshClaims, context: Context) -> AccessToken:
    """A new access token for the session's current refresh token (an older one: 115)."""
    return AccessToken(access_token=await do_issue_access_token(context, claims))


@router.post("/token/refresh", response_model=RefreshToken, responses=AUTH_ERRORS)
async def rotate_refresh_token(claims: RefreshClaims, context: Context) -> RefreshToken:
    """The session's next refresh token; the one presented stops working (reuse: 115)."""
    return RefreshToken(refresh_token=await do_rotate_refresh_token(context, claims))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=AUTH_ERRORS,
             response_class=Response)
async def logout(claims: AnyTokenClaims, context: Context) -> Response:
    """Revoke the session of the access or refresh token; its sockets are disconnected."""
    await do_logout(context, claims)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
