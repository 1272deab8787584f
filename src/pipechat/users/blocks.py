"""Blocking: a user the blocker blocked cannot start a direct chat with them or add them.

The refusal says "cannot add this user" and nothing more, so the blocked user cannot tell a
block from any other reason. Existing chats stay as they are.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.db import Database, utc_now
from pipechat.errors import ChatError, ErrorCode, validation_error
from pipechat.users.models import User, UserBlock
from pipechat.users.schemas import BlockedUser


async def check_not_blocked(session: AsyncSession, actor_id: int, user_ids: list[int]) -> None:
    """Refuse (143) when any of `user_ids` blocked `actor_id`; the error does not say why."""
    if not user_ids:
        return
    blockers = sorted(await session.scalars(select(UserBlock.blocker_id).where(
        UserBlock.blocker_id.in_(user_ids), UserBlock.blocked_id == actor_id)))
    if blockers:
        noun = "this user" if len(blockers) == 1 else "these users"
        raise ChatError(ErrorCode.CANNOT_ADD_USER, f"cannot add {noun}", {"userIds": blockers})


async def block_user(db: Database, blocker_id: int, blocked_id: int,
                     limit: int) -> tuple[BlockedUser, bool]:
    """Block `blocked_id`; True if new. 102 unknown user, 103 oneself, 146 too many blocks."""
    if blocked_id == blocker_id:
        raise validation_error("userId: you cannot block yourself")
    try:
        async with db.write() as session:
            user = await session.get(User, blocked_id)
            if user is None:
                raise ChatError(ErrorCode.UNKNOWN_USERS, f"unknown user ids: [{blocked_id}]",
                                {"userIds": [blocked_id]})
            block = await session.get(UserBlock, (blocker_id, blocked_id))
            if block is not None:
                return BlockedUser(id=user.id, nickname=user.nickname,
                                   blocked_at=block.created_at), False
            count = await session.scalar(select(func.count()).select_from(UserBlock).where(
                UserBlock.blocker_id == blocker_id))
            if (count or 0) >= limit:
                raise ChatError(ErrorCode.TOO_MANY_BLOCKS,
                                f"you may block at most {limit} users", {"max": limit})
            block = UserBlock(blocker_id=blocker_id, blocked_id=blocked_id, created_at=utc_now())
            session.add(block)
            blocked = BlockedUser(id=user.id, nickname=user.nickname,
                                  blocked_at=block.created_at)
    except IntegrityError:
        # A concurrent request blocked them first: theirs is the block.
        return (await list_blocks(db, blocker_id, only=blocked_id))[0], False
    return blocked, True


async def unblock_user(db: Database, blocker_id: int, blocked_id: int) -> None:
    """Lift a block; nothing happens if there was none."""
    async with db.write() as session:
        await session.execute(delete(UserBlock).where(UserBlock.blocker_id == blocker_id,
                                                      UserBlock.blocked_id == blocked_id))


async def list_blocks(db: Database, blocker_id: int,
                      only: int | None = None) -> list[BlockedUser]:
    """Everyone `blocker_id` blocked (at most PIPECHAT_BLOCKS_PER_USER), newest first."""
    statement = (select(User.id, User.nickname, UserBlock.created_at)
                 .join(UserBlock, UserBlock.blocked_id == User.id)
                 .where(UserBlock.blocker_id == blocker_id)
                 .order_by(UserBlock.created_at.desc(), User.id.desc()))
    if only is not None:
        statement = statement.where(UserBlock.blocked_id == only)
    async with db.read() as session:
        return [BlockedUser(id=uid, nickname=nickname, blocked_at=at)
                for uid, nickname, at in await session.execute(statement)]
