"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import hmac
from http import HTTPStatus

import redis.asyncio
from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr

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


async def refresh_probes(context: AppContext) -> None:
    """Set `pipechat_database_up` (and `pipechat_redis_up`) from a fresh probe."""
    DATABASE_UP.set(await _probe_database(context))
    if context.settings.redis_url:
        REDIS_UP.set(await _probe_redis(context.settings.redis_url))


def metrics_token_matches(authorization: str | None, token: SecretStr | None) -> bool:
    """Whether `Authorization: Bearer <token>` carries the metrics token (any, when unset)."""
    if token is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    # Constant time: how much of a guess matched must not show in the answer's timing.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.get_secret_value().encode())


def check_metrics_token(request: Request, context: Context) -> None:
    """Refuse a scrape without the metrics token, when one is configured (401, code 110)."""
    if not metrics_token_matches(request.headers.get("authorization"),
                                 context.settings.metrics_token):
        raise ChatError(ErrorCode.UNAUTHENTICATED,
                        "metrics need 'Authorization: Bearer <PIPECHAT_METRICS_TOKEN>'")


# Mounted on the main port unless PIPECHAT_METRICS_PORT moves metrics to a listener of
# their own (`pipechat.health.listener`).
metrics_router = APIRouter(tags=["health"])


@metrics_router.get("/metrics", response_class=Response,
                    dependencies=[Depends(check_metrics_token)],
                    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}},
                               **error_responses(HTTPStatus.UNAUTHORIZED)})
async def metrics(context: Context) -> Response:
    """Prometheus metrics of this process; probes the database and Redis first."""
    await refresh_probes(context)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
