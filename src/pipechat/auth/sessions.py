"""Sessions: start one per login, rotate its refresh token, detect reuse, revoke it.

A session is a family of refresh tokens. Only its newest refresh token (`refresh_jti`) is
accepted, by both token routes; an older one can only have leaked (a well-behaved client
drops it when it rotates), so presenting one revokes the whole session, as OAuth 2.0's
refresh token rotation recommends. A revoked session's access tokens are refused at once by
REST and at socket connect, and its open sockets are disconnected on every process.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update

from pipechat.auth.models import LoginSession
from pipechat.auth.schemas import TokenPair
from pipechat.auth.service import TokenClaims, new_token_id
from pipechat.context import AppContext
from pipechat.db import utc_now
from pipechat.errors import ChatError, ErrorCode


def _gone() -> ChatError:
    return ChatError(ErrorCode.UNAUTHENTICATED, "the token's user or session no longer exists")


async def do_start_session(context: AppContext, user_id: int) -> TokenPair:
    """Open a session for a user who just registered or logged in; its first token pair."""
    tokens = context.tokens
    now = utc_now()
    expires_at = now + timedelta(seconds=tokens.session_ttl)
    jti = new_token_id()
    async with context.db.write() as session:
        # Sessions past their lifetime can never be used again: drop the user's old ones.
        await session.execute(delete(LoginSession).where(
            LoginSession.user_id == user_id, LoginSession.expires_at <= now))
        row = LoginSession(user_id=user_id, created_at=now, expires_at=expires_at,
                           refresh_jti=jti)
        session.add(row)
        await session.flush()
        session_id = row.id
    not_after = expires_at.timestamp()
    refresh = tokens.issue("refresh", user_id, session_id, not_after=not_after, jti=jti)
    access = tokens.issue("access", user_id, session_id, not_after=not_after)
    return TokenPair(access_token=tokens.encode(access), refresh_token=tokens.encode(refresh))


def _check_current(row: LoginSession | None, claims: TokenClaims,
                   now: datetime) -> ChatError | None:
    """Why this refresh token may not be used now, or None when it is the current one."""
    if row is None or row.user_id != claims.user_id:
        return _gone()
    if row.revoked_at is not None:
        return ChatError(ErrorCode.SESSION_REVOKED, "the session was logged out; log in again")
    if row.expires_at <= now:
        return ChatError(ErrorCode.TOKEN_EXPIRED, "the session has expired; log in again")
    if row.refresh_jti != claims.jti:
        return ChatError(ErrorCode.REFRESH_TOKEN_REUSED,
                         "this refresh token was already replaced; the session is now revoked "
                         "and every token of it refused: log in again")
    return None


async def do_rotate_refresh_token(context: AppContext, claims: TokenClaims) -> str:
    """The session's next refresh token, which from now on is the only one accepted."""
    now = utc_now()
    jti = new_token_id()
    async with context.db.write() as session:
        # Locks the row on PostgreSQL so two rotations of one token cannot both succeed;
        # SQLite's writer holds the database lock for the whole transaction anyway.
        row = await session.get(LoginSession, claims.session_id, with_for_update=True)
        error = _check_current(row, claims, now)
        reused = error is not None and error.code is ErrorCode.REFRESH_TOKEN_REUSED
        if row is not None and reused:
            row.revoked_at = now
        elif row is not None and error is None:
            row.refresh_jti = jti
            not_after = row.expires_at.timestamp()
    if error is not None:
        if reused:
            await _end_session(context, claims.session_id)
        raise error
    tokens = context.tokens
    return tokens.encode(tokens.issue("refresh", claims.user_id, claims.session_id,
                                      not_after=not_after, jti=jti))


async def do_issue_access_token(context: AppContext, claims: TokenClaims) -> str:
    """A new access token for the session's current refresh token.

    A refresh token that is no longer current counts as reuse here too: it revokes the session.
    """
    now = utc_now()
    async with context.db.read() as session:
        row = await session.get(LoginSession, claims.session_id)
    error = _check_current(row, claims, now)
    if error is not None:
        if error.code is ErrorCode.REFRESH_TOKEN_REUSED:
            await do_revoke_session(context, claims.session_id)
        raise error
    assert row is not None  # _check_current said so
    tokens = context.tokens
    return tokens.encode(tokens.issue("access", claims.user_id, claims.session_id,
                                      not_after=row.expires_at.timestamp()))


async def do_revoke_session(context: AppContext, session_id: int) -> bool:
    """Revoke a session and disconnect its sockets; False when it was revoked already."""
    async with context.db.write() as session:
        result = await session.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.revoked_at.is_(None))
            .values(revoked_at=utc_now()))
    revoked = bool(getattr(result, "rowcount", 0))
    if revoked:
        await _end_session(context, session_id)
    return revoked


async def _end_session(context: AppContext, session_id: int) -> None:
    """After the revocation's commit: refuse the session here at once, then end its sockets
    and forget it on every process (one broadcast does both)."""
    context.sessions.end(session_id)
    await context.end_session_sockets(session_id)


async def do_logout(context: AppContext, claims: TokenClaims) -> None:
    """End the session of an access or refresh token; logging out twice is not an error."""
    async with context.db.read() as session:
        row = await session.get(LoginSession, claims.session_id)
    if row is None or row.user_id != claims.user_id:
        raise _gone()
    await do_revoke_session(context, claims.session_id)


async def access_socket_token(context: AppContext, token: str, user_id: int) -> TokenClaims:
    """The claims of a fresh access token handed to an open socket of `user_id`.

    Same checks as at connect, plus: the token must be this socket's user's (code 116).
    """
    claims = context.tokens.check_token(token, "access")
    if claims.user_id != user_id:
        raise ChatError(ErrorCode.TOKEN_OF_ANOTHER_USER,
                        "the token is for another user; open a new socket for that user")
    # Renewals are few (one per socket per token lifetime): always the database's answer.
    await context.sessions.access_user(claims, fresh=True)
    return claims
