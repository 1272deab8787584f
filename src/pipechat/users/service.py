"""Creating and finding users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.auth.service import PasswordHasher
from pipechat.db import Database
from pipechat.errors import ChatError, ErrorCode
from pipechat.users.models import Role, User
from pipechat.users.schemas import UserCreate


async def check_user_unique(db: Database, nickname: str, email: str) -> None:
    """Refuse a nickname or email that is taken, naming the field."""
    async with db.read() as session:
        taken = (await session.execute(
            select(User.nickname, User.email).where(
                (User.nickname == nickname) | (User.email == email)
            )
        )).all()
    if any(row.email == email for row in taken):
        raise ChatError(ErrorCode.EMAIL_TAKEN, "email: this email is already registered")
    if taken:
        raise ChatError(ErrorCode.NICKNAME_TAKEN, "nickname: this nickname is already taken")


async def do_create_user(
    db: Database, passwords: PasswordHasher, data: UserCreate, role: Role = Role.USER
) -> User:
    """Store a new user with a hashed password; duplicates are refused by field."""
    email = data.email.lower()
    await check_user_unique(db, data.nickname, email)
    user = User(nickname=data.nickname, email=email,
                password_hash=await passwords.hash(data.password), role=role)
    try:
        async with db.write() as session:
            session.add(user)
    except IntegrityError:
        # Lost a race with a concurrent registration: report it as the check would have.
        await check_user_unique(db, data.nickname, email)
        raise
    return user


async def access_user_by_nickname(db: Database, nickname: str) -> User:
    """The user with exactly this nickname, or code 122."""
    async with db.read() as session:
        user = await session.scalar(select(User).where(User.nickname == nickname))
    if user is None:
        raise ChatError(ErrorCode.USER_NOT_FOUND, f"no user has the nickname {nickname!r}")
    return user


async def access_user(session: AsyncSession, user_id: int) -> User:
    """The user with this id, or code 122."""
    user = await session.get(User, user_id)
    if user is None:
        raise ChatError(ErrorCode.USER_NOT_FOUND, f"no user has the id {user_id}")
    return user
