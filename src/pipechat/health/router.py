"""Liveness and readiness probes."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter

from pipechat.auth.dependencies import Context
from pipechat.errors import ChatError, ErrorCode, error_responses

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses=error_responses(HTTPStatus.SERVICE_UNAVAILABLE))
async def readyz(context: Context) -> dict[str, str]:
    """The database answers."""
    try:
        await context.db.ping()
    except Exception as exc:
        raise ChatError(ErrorCode.SERVICE_UNAVAILABLE, "the database is unreachable") from exc
    return {"status": "ok"}
