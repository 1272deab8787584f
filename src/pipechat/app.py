"""The ASGI application factory: FastAPI for REST, wrapped by python-socketio's ASGIApp."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import socketio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipechat.auth.router import router as auth_router
from pipechat.changes.router import router as changes_router
from pipechat.chats.reads import ReadWriter
from pipechat.chats.router import router as chats_router
from pipechat.config import Settings
from pipechat.context import AppContext
from pipechat.errors import ChatError, ErrorCode, error_responses
from pipechat.health import router as health_router
from pipechat.health.listener import MetricsListener
from pipechat.messages.router import router as messages_router
from pipechat.messages.writer import MessageWriter
from pipechat.metrics import ERRORS
from pipechat.middleware import AllowedHostsMiddleware, BodyLimitMiddleware
from pipechat.presence.service import PresenceService
from pipechat.presence.store import LocalStore, PresenceStore, RedisStore
from pipechat.realtime.gateway import Gateway, build_gateway
from pipechat.users.router import router as users_router
from pipechat.web.router import FAVICON_PATH, install_web

log = logging.getLogger("pipechat")

DOCS_ASSETS_PATH = "/docs-assets"
_CODE_BY_STATUS = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED,
                   401: ErrorCode.UNAUTHENTICATED}


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg"))


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ChatError)
    async def _chat_error(_request: Request, exc: ChatError) -> JSONResponse:
        ERRORS.labels(code=str(int(exc.code))).inc()
        return JSONResponse(exc.rest_body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        error = ChatError(ErrorCode.VALIDATION_FAILED, "", None)
        body = error.rest_body() | {"message": [_describe(e) for e in exc.errors()]}
        return JSONResponse(body, status_code=HTTPStatus.BAD_REQUEST)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = HTTPStatus(exc.status_code)
        code = _CODE_BY_STATUS.get(exc.status_code, ErrorCode.VALIDATION_FAILED)
        body = {"statusCode": status.value, "message": str(exc.detail), "error": status.phrase,
                "code": int(code)}
        return JSONResponse(body, status_code=status, headers=exc.headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _database_down(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("database error: %s", type(exc).__name__)
        error = ChatError(ErrorCode.SERVICE_UNAVAILABLE, "the database is unavailable, retry")
        return JSONResponse(error.rest_body(), status_code=error.status)


def build_presence(context: AppContext) -> PresenceService:
    """Presence across processes with Redis, else within this one."""
    settings = context.settings
    store: PresenceStore = LocalStore()
    if settings.redis_url:
        store = RedisStore(settings.redis_url, settings.redis_channel, uuid.uuid4().hex,
                           settings.presence_host_ttl_seconds, settings.redis_timeout_seconds)
    return PresenceService(context.db, store, context.publish_to_users,
                           settings.presence_grace_seconds,
                           settings.presence_host_ttl_seconds / 3)


def create_fastapi(context: AppContext, gateway: Gateway | None = None) -> FastAPI:
    """The REST application, without the Socket.IO wrapper (whose lifecycle it runs)."""

    async def drain() -> None:
        # Accepted messages are committed (and acknowledged), then delivered. Idempotent:
        # a SIGTERM drains before connections close, the lifespan's end drains again.
        if context.message_writer is not None:
            await context.message_writer.stop()
        if context.read_writer is not None:
            await context.read_writer.stop()
        if gateway is not None:
            await gateway.stop()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        writer = MessageWriter(context.db,
                               on_saved=gateway.publisher.on_saved if gateway else None)
        context.message_writer = writer
        context.drain = drain
        writer.start()
        presence = build_presence(context)
        await presence.start(forget_previous=not context.settings.redis_url)
        context.presence = presence
        context.read_writer = ReadWriter(context.db, context.publish_to_users)
        context.read_writer.start()
        if gateway is not None:
            gateway.start()
        listener = MetricsListener(context) if context.settings.metrics_port is not None else None
        if listener is not None:
            listener.start()
        try:
            yield
        finally:
            if listener is not None:
                await listener.stop()
            await drain()
            context.presence = None
            await presence.close()
            if gateway is not None:
                await gateway.close()
            await context.db.dispose()
            await context.limits.close()

    settings = context.settings
    # FastAPI with /docs and /redoc whose Swagger UI and ReDoc files come from the installed
    # fastapi-offline package, not a CDN: the API docs work where the browser has no internet.
    app = FastAPIOffline(title="pipechat", version="0.1.0", lifespan=lifespan,
                         description="A Socket.IO chat server; see the README for the protocol.",
                         static_url=DOCS_ASSETS_PATH, favicon_url=FAVICON_PATH,
                         # What the guards below may answer on any route.
                         responses=error_responses(HTTPStatus.BAD_REQUEST,
                                                   HTTPStatus.REQUEST_ENTITY_TOO_LARGE))
    app.state.context = context
    # Added first, so it runs inside CORS (its 413 carries CORS headers) and the host check.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["*"], allow_headers=["*"])
    if settings.allowed_hosts:
        app.add_middleware(AllowedHostsMiddleware, allowed_hosts=settings.allowed_hosts)
    _install_error_handlers(app)
    for router in (health_router.router, auth_router, users_router, chats_router, messages_router,
                   changes_router):
        app.include_router(router)
    if settings.metrics_port is None:
        app.include_router(health_router.metrics_router)
    install_web(app, context.settings)
    return app


def create_app(settings: Settings | None = None) -> socketio.ASGIApp:
    """The whole server: REST under `/`, Socket.IO under `/socket.io` (namespace `/chats`)."""
    settings = settings or Settings()
    context = AppContext.from_settings(settings)
    gateway = build_gateway(context)
    api = create_fastapi(context, gateway)
    asgi = socketio.ASGIApp(gateway.server, other_asgi_app=api, socketio_path="socket.io")
    asgi.state = context  # lets tests and the CLI reach the context of a built app
    return asgi
