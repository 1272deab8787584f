"""Schema pieces shared by every domain: camelCase JSON, storable text and the error body."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# NUL: PostgreSQL's text type cannot hold it. Lone surrogates (U+D800-U+DFFF, which a JSON
# `\ud800` escape produces) cannot be encoded as UTF-8, so no database can hold them.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_storable(value: str) -> str:
    """`value`, unless it holds a character no database can store (NUL, a lone surrogate)."""
    if _UNSTORABLE.search(value):
        raise ValueError("contains a character that cannot be stored (NUL or a lone surrogate)")
    return value


# A database id a client sends: BIGINT-sized, never 0 or negative.
PositiveId = Annotated[int, Field(ge=1, le=2**63 - 1)]

# Every text a client sends that is stored, hashed or looked up: refused with 103 at
# validation, identically on SQLite and PostgreSQL, so it never reaches a database.
StorableStr = Annotated[str, AfterValidator(check_storable)]


class CamelModel(BaseModel):
    """Fields are snake_case in Python and camelCase on the wire, as in the seed."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              from_attributes=True)


class StrictInput(CamelModel):
    """A request body: unknown fields are errors, and numbers must be numbers."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False,
                              extra="forbid", strict=True)


class ErrorBody(BaseModel):
    """Every REST error: the NestJS shape plus a stable numeric `code`."""

    statusCode: int  # noqa: N815  (wire name)
    message: str | list[str]
    error: str
    code: int
