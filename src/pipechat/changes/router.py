"""`GET /sync` (what changed in all of the caller's chats) and `GET /chats/{cid}/changes`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from pipechat.auth.dependencies import Context, CurrentUser
from pipechat.changes.schemas import ChangesPage, ChangesQuery, SyncPage, SyncQuery
from pipechat.changes.service import BEGINNING, SyncToken
from pipechat.changes.sync import changes_after, read_sync_page, render_changes
from pipechat.chats.router import ChatIdPath
from pipechat.chats.service import access_chat_summary
from pipechat.errors import AUTH_ERRORS, MEMBER_ERRORS
from pipechat.pagination import check_query, link_with, query_error

router = APIRouter(tags=["changes"])


def _token(name: str, value: str | None) -> SyncToken | None:
    if value is None:
        return None
    try:
        return SyncToken.decode(value)
    except ValueError:
        raise query_error(name, "not a token this server gave out") from None


async def sync_query(request: Request, query: Annotated[SyncQuery, Query()],
                     context: Context) -> SyncQuery:
    """The validated query of `GET /sync`: tokens parse, `take` within the cap."""
    check_query(request, query.take, context.settings.page_size_max)
    _token("since", query.since)
    _token("next_since", query.next_since)
    return query


async def changes_query(request: Request, query: Annotated[ChangesQuery, Query()],
                        context: Context) -> ChangesQuery:
    """The validated query of `GET /chats/{cid}/changes`."""
    check_query(request, query.take, context.settings.page_size_max)
    return query


@router.get("/sync", response_model=SyncPage, responses=AUTH_ERRORS)
async def sync(request: Request, user: CurrentUser, context: Context,
               query: Annotated[SyncQuery, Depends(sync_query)]) -> SyncPage:
    """The caller's chats that changed since `since`: each one's state and its new changes."""
    since = _token("since", query.since) or BEGINNING
    result = await read_sync_page(context.db, user.id, since, query.after, query.take,
                                  context.settings.sync_changes_max,
                                  context.settings.unread_count_max)
    # Every page hands back the first page's token: a later page's snapshot is newer, and
    # the chats on earlier pages were read before it.
    token = query.next_since or result.token.encode()
    link = None
    if len(result.chats) == query.take:
        link = link_with(request, context.settings.public_base_url,
                         {"after": str(result.chats[-1].chat_id), "next_since": token})
    return SyncPage(data=result.chats, count=len(result.chats), next=link, since=token)


@router.get("/chats/{cid}/changes", response_model=ChangesPage, responses=MEMBER_ERRORS)
async def read_changes(cid: ChatIdPath, request: Request, user: CurrentUser, context: Context,
                       query: Annotated[ChangesQuery, Depends(changes_query)]) -> ChangesPage:
    """The chat's changes after seq `after`, in order; members only."""
    async with context.db.read() as session:
        await access_chat_summary(session, cid, user.id)
        changes = await changes_after(session, cid, query.after, query.take)
        rendered = await render_changes(session, changes, user.id)
    link = None
    if rendered and len(rendered) == query.take:
        link = link_with(request, context.settings.public_base_url,
                         {"after": str(rendered[-1].seq)})
    return ChangesPage(data=rendered, count=len(rendered), next=link)
