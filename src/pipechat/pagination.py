"""The seed's pagination contract (`BasePaginationDto` + `CommonService.paginate`).

Cursor mode (no `page`): `{data, cursor: {after}, count, next}`; page mode: `{data, total}`.
Rows are ordered by id, which follows creation order, so `order__createdAt` sorts by id and
each page is a range scan of an `(owner, id)` index instead of a sort.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Generic, Literal, TypeVar, TypeVarTuple
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, any_, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute

from pipechat.auth.dependencies import Context

ItemT = TypeVar("ItemT")
RowTs = TypeVarTuple("RowTs")
IdColumn = ColumnElement[int] | InstrumentedAttribute[int]
MAX_ID = 2**63 - 1  # ids are BIGINT; larger numbers would overflow in the database
MAX_PAGE = 1_000_000_000
DEFAULT_TAKE = 20
MORE_THAN = "where__id__more_than"
LESS_THAN = "where__id__less_than"


class PageQuery(BaseModel):
    """The query parameters every paginated endpoint accepts; anything else is a 400."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    page: int | None = Field(None, ge=1, le=MAX_PAGE,
                             description="1-based page number; switches to page mode")
    where__id__less_than: int | None = Field(None, ge=0, le=MAX_ID,
                                             description="only items with a smaller id")
    where__id__more_than: int | None = Field(None, ge=0, le=MAX_ID,
                                             description="only items with a larger id")
    order: Literal["ASC", "DESC"] = Field(
        "ASC", alias="order__createdAt",
        description="creation order (ids follow creation order); ASC by default")
    take: int = Field(DEFAULT_TAKE, ge=1, le=MAX_ID, description=(
        "page size, 20 by default; at most PIPECHAT_PAGE_SIZE_MAX (100 by default), "
        "larger values are refused with 400"))


def query_error(name: str, message: str, kind: str = "value_error") -> RequestValidationError:
    """A 400 (code 103) naming one query parameter, as FastAPI's own validation errors do."""
    return RequestValidationError([{"loc": ("query", name), "msg": message, "type": kind}])


def check_query(request: Request, take: int, cap: int) -> None:
    """Refuse repeated parameters and a `take` above the configured cap."""
    names = Counter(name for name, _ in request.query_params.multi_items())
    repeated = [name for name, times in names.items() if times > 1]
    if repeated:
        raise query_error(repeated[0], "given more than once", "repeated")
    if take > cap:
        raise query_error("take", f"Input should be less than or equal to {cap}",
                           "less_than_equal")


async def page_query(request: Request, query: Annotated[PageQuery, Query()],
                     context: Context) -> PageQuery:
    """The validated query: also refuses repeated parameters and `take` above the cap."""
    check_query(request, query.take, context.settings.page_size_max)
    return query


PageParams = Annotated[PageQuery, Depends(page_query)]


def filter_by_id(statement: Select[*RowTs], id_column: IdColumn,
                 query: PageQuery) -> Select[*RowTs]:
    """Apply the `where__id__*` filters (in both modes, unlike the course code)."""
    if query.where__id__more_than is not None:
        statement = statement.where(id_column > query.where__id__more_than)
    if query.where__id__less_than is not None:
        statement = statement.where(id_column < query.where__id__less_than)
    return statement


def owned_by(column: IdColumn, owner_id: int, dialect: str) -> ColumnElement[bool]:
    """`column = owner_id`; on PostgreSQL spelled `= ANY(ARRAY[owner_id])` on purpose.

    With a plain `=` the planner treats the owner as a constant and may page by walking the
    primary key with a filter, which skips every other owner's rows first (measured in
    docs/performance.md). Written as an array match, only the (owner, id) index gives the
    order `select_page` asks for, so each page is a short range scan of that index.
    """
    if dialect == "postgresql":
        return column == any_(postgresql.array([owner_id]))
    return column == owner_id


def select_page(statement: Select[*RowTs], id_column: IdColumn, query: PageQuery,
                owner_column: IdColumn) -> Select[*RowTs]:
    """The filtered statement ordered by (owner, id) and cut to one page."""
    ordered = filter_by_id(statement, id_column, query).order_by(
        *(column.asc() if query.order == "ASC" else column.desc()
          for column in (owner_column, id_column))
    ).limit(query.take)
    if query.page is not None:
        ordered = ordered.offset(query.take * (query.page - 1))
    return ordered


def select_total(statement: Select[*RowTs], id_column: IdColumn,
                 query: PageQuery) -> Select[int]:
    """How many rows match the filters, for page mode."""
    matching = filter_by_id(statement, id_column, query).with_only_columns(id_column)
    return select(func.count()).select_from(matching.subquery())


class Cursor(BaseModel):
    """Where the next page starts: the last item's id, or null after a short page."""

    after: int | None


class CursorPage(BaseModel, Generic[ItemT]):
    """A page in cursor mode."""

    data: list[ItemT]
    cursor: Cursor
    count: int = Field(description="number of items in `data`")
    next: str | None = Field(description="absolute URL of the next page, or null")


class OffsetPage(BaseModel, Generic[ItemT]):
    """A page in page mode."""

    data: list[ItemT]
    total: int = Field(description="number of items matching the filters, on all pages")


def next_url(request: Request, public_base_url: str | None, query: PageQuery,
             after: int) -> str:
    """The same request with the cursor moved past `after` (replacing an earlier cursor)."""
    key = MORE_THAN if query.order == "ASC" else LESS_THAN
    return link_with(request, public_base_url, {key: str(after)})


def link_with(request: Request, public_base_url: str | None, changes: dict[str, str]) -> str:
    """An absolute URL to the same request with these parameters set (replacing them)."""
    params = [(name, value) for name, value in request.query_params.multi_items()
              if name not in changes]
    encoded = urlencode([*params, *changes.items()])
    if public_base_url:
        return f"{public_base_url.rstrip('/')}{request.url.path}?{encoded}"
    return str(request.url.replace(query=encoded))


def build_page(items: list[ItemT], ids: list[int], total: int | None, query: PageQuery,
               request: Request, public_base_url: str | None,
               ) -> CursorPage[ItemT] | OffsetPage[ItemT]:
    """The answer for `items` (whose ids are `ids`): page mode when `total` was counted."""
    if total is not None:
        return OffsetPage[ItemT](data=items, total=total)
    full = bool(items) and len(items) == query.take
    after = ids[-1] if full else None
    link = next_url(request, public_base_url, query, after) if after is not None else None
    return CursorPage[ItemT](data=items, cursor=Cursor(after=after), count=len(items),
                             next=link)
