"""Passwords, JWTs and the seed's register/login/token flows."""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from typing import Literal

import argon2
import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.errors import ChatError, ErrorCode, validation_error
from pipechat.schemas import check_storable
from pipechat.users.models import User

TokenKind = Literal["access", "refresh"]
_ALGORITHM = "HS256"


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


class TokenService:
    """Issues and checks HS256 JWTs carrying `sub`, `type` and `exp`."""

    def __init__(self, *, secret: str, access_ttl: int, refresh_ttl: int) -> None:
        self._secret = secret
        self._ttl: dict[TokenKind, int] = {"access": access_ttl, "refresh": refresh_ttl}

    def issue(self, user_id: int, kind: TokenKind) -> str:
        """A signed token of `kind` for `user_id`."""
        now = int(time.time())
        claims = {"sub": str(user_id), "type": kind, "iat": now, "exp": now + self._ttl[kind]}
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def check_token(self, token: str, kind: TokenKind) -> int:
        """The user id in a valid, unexpired token of `kind`; a 401-class error otherwise."""
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[_ALGORITHM],
                options={"require": ["sub", "type", "exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ChatError(ErrorCode.TOKEN_EXPIRED, "the token has expired") from exc
        except jwt.PyJWTError as exc:
            raise ChatError(ErrorCode.UNAUTHENTICATED, "the token is invalid") from exc
        if claims.get("type") != kind:
            raise ChatError(ErrorCode.WRONG_TOKEN_TYPE, f"an {kind} token is required"
                            if kind == "access" else f"a {kind} token is required")
        try:
            return int(claims["sub"])
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


async def access_user_by_token(
    session: AsyncSession, tokens: TokenService, token: str, kind: TokenKind
) -> User:
    """The user a valid token names; refused when that user no longer exists."""
    user_id = tokens.check_token(token, kind)
    user = await session.get(User, user_id)
    if user is None:
        raise ChatError(ErrorCode.UNAUTHENTICATED, "the token's user no longer exists")
    return user


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
