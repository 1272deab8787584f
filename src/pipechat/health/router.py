"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
from http import HTTPStatus

import redis.asyncio
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pipechat.auth.dependencies import Context
from pipechat.context import AppContext
from pipechat.errors import ChatError, ErrorCode, error_responses
from pipechat.metrics import DATABASE_UP, REDIS_UP

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


async def _probe_database(context: AppContext) -> bool:
    try:
        await asyncio.wait_for(context.db.ping(), timeout=2)
    except Exception:
        return False
    return True


async def _probe_redis(url: str) -> bool:
    client = redis.asyncio.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(context: Context) -> Response:
    """Prometheus metrics of this process; probes the database and Redis first."""
    DATABASE_UP.set(await _probe_database(context))
    if context.settings.redis_url:
        REDIS_UP.set(await _probe_redis(context.settings.redis_url))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
