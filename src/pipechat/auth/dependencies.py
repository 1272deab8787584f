"""FastAPI dependencies: the process context, the authenticated user and token claims."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.http import HTTPBase

from pipechat.auth.service import TokenClaims, access_user_by_token, parse_authorization
from pipechat.context import AppContext
from pipechat.users.models import User

# auto_error=False: our own 401s carry the error model; these only document the schemes.
bearer_scheme = HTTPBearer(auto_error=False)
# Not `HTTPBasic`: it decodes the credentials as ASCII and answers 401 itself, even with
# auto_error=False, before our UTF-8 parser runs. `HTTPBase` documents the same scheme and
# only hands over the raw header.
basic_scheme = HTTPBase(scheme="basic", scheme_name="HTTPBasic", auto_error=False)


def get_context(request: Request) -> AppContext:
    """The process-wide context the app factory stored."""
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(get_context)]
BearerHeader = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


async def current_user(request: Request, context: Context, _doc: BearerHeader) -> User:
    """The user of the access token in the Authorization header, if its session is open."""
    token = parse_authorization(request.headers.get("authorization"), "Bearer")
    async with context.db.read() as session:
        return await access_user_by_token(session, context.tokens, token)


async def refresh_claims(request: Request, context: Context, _doc: BearerHeader) -> TokenClaims:
    """The claims of the refresh token in the Authorization header (its session not checked)."""
    token = parse_authorization(request.headers.get("authorization"), "Bearer")
    return context.tokens.check_token(token, "refresh")


async def any_token_claims(request: Request, context: Context, _doc: BearerHeader) -> TokenClaims:
    """The claims of the access or refresh token in the Authorization header."""
    token = parse_authorization(request.headers.get("authorization"), "Bearer")
    return context.tokens.check_token(token, None)


CurrentUser = Annotated[User, Depends(current_user)]
RefreshClaims = Annotated[TokenClaims, Depends(refresh_claims)]
AnyTokenClaims = Annotated[TokenClaims, Depends(any_token_claims)]
