"""Turning raw event arguments into validated models, and errors into replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pipechat.errors import validation_error

Model = TypeVar("Model", bound=BaseModel)

# Bounds the work of scanning a hostile payload for attachments; the transport caps its size.
_MAX_SCAN_DEPTH = 32


@dataclass(frozen=True, slots=True)
class MalformedEvent:
    """Stands in for the name of an event whose frame could not be read; its reply is 103."""

    reason: str


def _has_binary(value: Any, depth: int = 0) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return True
    if depth > _MAX_SCAN_DEPTH:
        return False
    if isinstance(value, dict):
        return any(_has_binary(item, depth + 1) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_binary(item, depth + 1) for item in value)
    return False


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "string" if isinstance(value, str) else "value"


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg"))


def parse_payload(model: type[Model], args: tuple[Any, ...]) -> Model:
    """The single JSON object an event carries, validated by `model`; code 103 otherwise."""
    if len(args) != 1:
        raise validation_error(f"the payload must be one JSON object, got {len(args)} arguments")
    payload = args[0]
    if _has_binary(payload):
        raise validation_error("binary attachments are not accepted")
    if not isinstance(payload, dict):
        raise validation_error(f"the payload must be a JSON object, not {_json_kind(payload)}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors(include_url=False)]
        fields = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
        raise validation_error("; ".join(problems), {"fields": fields}) from exc
