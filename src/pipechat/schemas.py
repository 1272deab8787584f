"""Schema pieces shared by every domain: camelCase JSON and the error body."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


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
