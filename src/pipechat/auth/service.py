"""Passwords, JWTs, Authorization headers and the user behind a token."""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
import time
from dataclasses import dataclass
from typing import Literal

import argon2
import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.auth.models import LoginSession
from pipechat.errors import ChatError, ErrorCode, validation_error
from pipechat.schemas import check_storable
from pipechat.users.models import User

TokenKind = Literal["access", "refresh"]
_ALGORITHM = "HS256"
_WANTED: dict[TokenKind | None, str] = {"access": "an access token is required",
                                        "refresh": "a refresh token is required",
                                        None: "an access or refresh token is required"}


class PasswordHasher:
    """argon2id hashing, run in a thread so a login never stalls the event loop."""

    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verified against when the email is unknown, so both failures take the same time.
        self._decoy = self._hasher.hash("decoy password, never matches")

    async def verify_decoy(self, password: str) -> None:
        """Spend the time of a real verification, for an account that does not exist."""
        await self.verify(self._decoy, password)

    async def hash(self, password: str) -> str:
        """The argon2 hash of `password`."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches `password_hash`."""
        try:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says: whose it is, of which session, its id and its expiry."""

    kind: TokenKind
    user_id: int
    session_id: int
    jti: str
    issued_at: int  # Unix seconds
    expires_at: int  # Unix seconds


def new_token_id() -> str:
    """A fresh random `jti`."""
    return secrets.token_hex(16)


class TokenService:
    """Issues and checks HS256 JWTs carrying `sub`, `type`, `sid`, `jti`, `iat` and `exp`."""

    def __init__(self, *, secret: str, access_ttl: int, refresh_ttl: int,
                 session_ttl: int) -> None:
        self._secret = secret
        self._ttl: dict[TokenKind, int] = {"access": access_ttl, "refresh": refresh_ttl}
        self.session_ttl = session_ttl

    def issue(self, kind: TokenKind, user_id: int, session_id: int, *, not_after: float,
              jti: str | None = None) -> TokenClaims:
        """Claims of a new token of `kind`; its lifetime never reaches past `not_after`."""
        now = int(time.time())
        return TokenClaims(kind, user_id, session_id, jti or new_token_id(), now,
                           min(now + self._ttl[kind], int(not_after)))

    def encode(self, claims: TokenClaims) -> str:
        """The signed token of `claims`."""
        payload = {"sub": str(claims.user_id), "type": claims.kind,
                   "sid": str(claims.session_id), "jti": claims.jti,
                   "iat": claims.issued_at, "exp": claims.expires_at}
        return jwt.encode(payload, self._secret, algorithm=_ALGORITHM)

    def check_token(self, token: str, kind: TokenKind | None) -> TokenClaims:
        """The claims of a valid, unexpired token of `kind` (None: either); 11x otherwise."""
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[_ALGORITHM],
                options={"require": ["sub", "type", "exp", "sid", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ChatError(ErrorCode.TOKEN_EXPIRED, "the token has expired") from exc
        except jwt.PyJWTError as exc:
            raise ChatError(ErrorCode.UNAUTHENTICATED, "the token is invalid") from exc
        found = claims.get("type")
        if found not in ("access", "refresh") or (kind is not None and found != kind):
            raise ChatError(ErrorCode.WRONG_TOKEN_TYPE, _WANTED[kind])
        try:
            return TokenClaims(found, int(claims["sub"]), int(claims["sid"]),
                               str(claims["jti"]), int(claims.get("iat", 0)),
                               int(claims["exp"]))
        except (TypeError, ValueError) as exc:
            raise ChatError(ErrorCode.UNAUTHENTICATED, "the token is invalid") from exc


def parse_authorization(header: str | None, scheme: Literal["Basic", "Bearer"]) -> str:
    """The credentials part of an `Authorization: <scheme> <credentials>` header."""
    if not header:
        raise ChatError(ErrorCode.UNAUTHENTICATED, "the Authorization header is missing")
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != scheme.lower():
        raise ChatError(ErrorCode.UNAUTHENTICATED,
                        f"the Authorization header must be '{scheme} <credentials>'")
    return parts[1]


def parse_basic_credentials(header: str | None) -> tuple[str, str]:
    """(email, password) from a Basic header, as the seed's login expects."""
    encoded = parse_authorization(header, "Basic")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ChatError(ErrorCode.UNAUTHENTICATED, "the Basic credentials are malformed") from exc
    try:
        check_storable(decoded)  # a NUL would reach PostgreSQL in the email lookup
    except ValueError as exc:
        raise validation_error(f"credentials: {exc}") from exc
    email, sep, password = decoded.partition(":")
    if not sep or not email or not password:
        raise ChatError(ErrorCode.UNAUTHENTICATED,
                        "the Basic credentials must be base64 of 'email:password'")
    return email, password


async def access_session_user(session: AsyncSession, claims: TokenClaims) -> User:
    """The user of a token whose session is still open: one query by primary keys.

    Refused with 110 when the user (or the session) no longer exists, 114 once the session
    was revoked (logout, or a reused refresh token).
    """
    row = (await session.execute(
        select(User, LoginSession.revoked_at)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.id == claims.session_id, User.id == claims.user_id)
    )).first()
    if row is None:
        raise ChatError(ErrorCode.UNAUTHENTICATED, "the token's user or session no longer exists")
    if row.revoked_at is not None:
        raise ChatError(ErrorCode.SESSION_REVOKED, "the session was logged out; log in again")
    user: User = row.User
    return user


async def access_user_by_token(session: AsyncSession, tokens: TokenService, token: str) -> User:
    """The user of a valid access token of an open session."""
    return await access_session_user(session, tokens.check_token(token, "access"))


async def check_login(
    session: AsyncSession, passwords: PasswordHasher, email: str, password: str
) -> User:
    """The user with these credentials; one message for unknown email and wrong password."""
    user = await session.scalar(select(User).where(User.email == email.lower()))
    if user is None:
        await passwords.verify_decoy(password)
    if user is None or not await passwords.verify(user.password_hash, password):
        raise ChatError(ErrorCode.INVALID_CREDENTIALS, "the email or password is wrong")
    return user
