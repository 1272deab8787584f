"""`GET /chats`: the seed's pagination by id, and a list by last activity, newest first.

Both start from the caller's memberships (the (user_id, chat_id) index) and read each chat by
primary key; by activity, the caller's chats are then sorted on `activity` (a top-N sort over
their chats, not over all chats) and cut at the cursor `(activity, id)`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from pydantic import Field
from sqlalchemy import ColumnElement, Select, bindparam, func, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from pipechat.auth.dependencies import Context
from pipechat.chats.models import Chat, chat_members
from pipechat.pagination import (
    MAX_ID,
    PageQuery,
    check_query,
    owned_by,
    query_error,
    select_page,
    select_total,
)

_CURSOR = re.compile(r"([0-9]{1,19})_([0-9]{1,19})")
ACTIVITY_CURSOR_PATTERN = r"^[0-9]{1,19}_[0-9]{1,19}$"


class ChatsQuery(PageQuery):
    """The seed's parameters, plus `sort=activity` and its own cursor."""

    sort: Literal["id", "activity"] = Field(
        "id", description="id: the seed's order and pagination; activity: the most recently "
                          "active first (a chat's newest message, else its creation)")
    activity_before: str | None = Field(
        None, max_length=40, pattern=ACTIVITY_CURSOR_PATTERN,
        description="sort=activity only: the `cursor.before` of the previous page")


def encode_cursor(chat: Chat) -> str:
    """The position of `chat` in the activity order, as the next page's cursor."""
    return f"{chat.activity}_{chat.id}"


def decode_cursor(value: str) -> tuple[int, int]:
    """(activity, chat id) of a cursor; ValueError if it is not one."""
    match = _CURSOR.fullmatch(value)
    if match is None or int(match[1]) > MAX_ID or int(match[2]) > MAX_ID:
        raise ValueError("not a cursor")
    return int(match[1]), int(match[2])


async def chats_query(request: Request, query: Annotated[ChatsQuery, Query()],
                      context: Context) -> ChatsQuery:
    """The validated query: the seed's checks, and no seed cursor with `sort=activity`."""
    check_query(request, query.take, context.settings.page_size_max)
    if query.sort == "activity":
        given = {"page", "where__id__more_than", "where__id__less_than", "order__createdAt"}
        for name in sorted(given & set(request.query_params)):
            raise query_error(name, "not with sort=activity (use activity_before)")
    elif query.activity_before is not None:
        raise query_error("activity_before", "only with sort=activity")
    if query.activity_before is not None:
        try:
            decode_cursor(query.activity_before)
        except ValueError:
            raise query_error("activity_before", "not a cursor this server gave out") from None
    return query


ChatsParams = Annotated[ChatsQuery, Depends(chats_query)]


def listed(chats: type[Chat] | Any = Chat) -> ColumnElement[bool]:
    """A membership shows in its user's list unless they left (hid) the direct chat since."""
    hidden_upto = chat_members.c.hidden_upto
    return hidden_upto.is_(None) | (func.coalesce(chats.last_message_id, 0) > hidden_upto)


def _member_of(user_id: int, dialect: str) -> ColumnElement[bool]:
    return owned_by(chat_members.c.user_id, user_id, dialect) & listed()


async def list_by_id(session: AsyncSession, user_id: int,
                     query: PageQuery) -> tuple[list[Chat], int | None]:
    """One page of the chats `user_id` is in, by id; the total in page mode."""
    dialect = session.get_bind().dialect.name
    member_of = (select(Chat).join(chat_members, chat_members.c.chat_id == Chat.id)
                 .where(_member_of(user_id, dialect)))
    chats = list(await session.scalars(
        select_page(member_of, chat_members.c.chat_id, query, chat_members.c.user_id)))
    total = None
    if query.page is not None:
        total = int(await session.scalar(select_total(member_of, chat_members.c.chat_id,
                                                      query)) or 0)
    return chats, total


def select_by_activity(user_id: int, dialect: str, before: str | None,
                       take: int) -> Select[Chat]:
    """The statement of one page by activity (bench/ and the tests EXPLAIN it).

    On PostgreSQL each membership reads its chat through a LATERAL subquery with `OFFSET 0`,
    which the planner may not flatten: a primary-key lookup per membership. As a plain join,
    PostgreSQL hashed the caller's memberships and scanned every chat of the server to probe
    them (15.8 ms for 1,000 of 100,000 chats, growing with the server, in
    bench/list_explain.py), where the lookups take about 1 ms. SQLite loops over the
    memberships by itself.
    """
    chats: type[Chat] | Any = Chat
    statement = select(Chat).join(chat_members, chat_members.c.chat_id == Chat.id)
    if dialect == "postgresql":
        one = select(Chat).where(Chat.id == chat_members.c.chat_id).offset(0).lateral("chat")
        chats = aliased(Chat, one)
        statement = select(chats).select_from(chat_members).join(one, true())
    statement = statement.where(owned_by(chat_members.c.user_id, user_id, dialect),
                                listed(chats))
    if before is not None:
        activity, chat_id = decode_cursor(before)
        statement = statement.where(tuple_(chats.activity, chats.id) < tuple_(
            bindparam("before_activity", activity), bindparam("before_id", chat_id)))
    return statement.order_by(chats.activity.desc(), chats.id.desc()).limit(take)


async def list_by_activity(session: AsyncSession, user_id: int, before: str | None,
                           take: int) -> list[Chat]:
    """One page of the chats `user_id` is in, most recently active first."""
    dialect = session.get_bind().dialect.name
    return list(await session.scalars(select_by_activity(user_id, dialect, before, take)))
