"""The `pipechat` command: serve, migrate, user create."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import socket
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError

from pipechat.config import ConfigError, Settings
from pipechat.context import AppContext
from pipechat.errors import ChatError
from pipechat.logs import configure_logging, describe_error
from pipechat.migrations import apply_migrations

log = logging.getLogger("pipechat")
DRAIN_SECONDS = 15.0
GIL_SWITCH_INTERVAL = 0.001


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from pipechat.app import create_app
    from pipechat.realtime.uvicorn_ws import websocket_protocol

    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Pending revisions are applied at start: a chat server with a stale schema is worse
    # than one that takes a second longer to boot.
    asyncio.run(apply_migrations(settings.async_database_url))
    app = create_app(settings)
    # The SQLite batch thread gives up the GIL on every statement and must win it back from
    # a busy event loop; at the default 5 ms interval that wait dominated (d)'s p99
    # (docs/performance.md, "Steps of this round", step 3).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    config = uvicorn.Config(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # keep our JSON-lines handler
        # Chat frames are small; compressing each one per recipient costs more than it saves.
        ws_per_message_deflate=False,
        # uvicorn's sans-I/O websockets, lighter per idle connection (see uvicorn_ws).
        ws=websocket_protocol(),
        # A frame larger than a packet may be is refused (1009) before it is buffered whole.
        ws_max_size=settings.max_payload_bytes,
        # engine.io's heartbeat (a PING every 25 s, the connection closed when no PONG follows
        # within 20 s) already finds dead peers: uvicorn's own websocket pings would only add
        # two timers per idle connection (about 1 KiB) and their wake-ups.
        ws_ping_interval=None,
        timeout_graceful_shutdown=10,
        # The client address the throttles count by: X-Forwarded-For is believed only from
        # these proxies (uvicorn's own default trusts loopback alone).
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        access_log=args.access_log,
    )
    DrainingServer(config, app.state).run()
    return 0


class DrainingServer(uvicorn.Server):
    """uvicorn, but SIGTERM/SIGINT first drain the message writer, then shut down.

    Plain uvicorn closes the sockets first, so messages already accepted would be committed
    without their acknowledgements ever reaching the clients. A second signal skips the drain.
    """

    def __init__(self, config: uvicorn.Config, context: AppContext) -> None:
        super().__init__(config)
        self._context = context
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining = False
        self._drain_task: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Remember the loop the signal handler must hand the drain to."""
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: drain, then exit cleanly (status 0); later ones: uvicorn's default."""
        if self._draining or self._loop is None:
            super().handle_exit(sig, frame)
            return
        self._draining = True
        log.info("draining before shutdown", extra={"signal": signal.Signals(sig).name})
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        task = asyncio.get_running_loop().create_task(self._drain_then_exit())
        self._drain_task = task  # keep a reference until it finishes

    async def _drain_then_exit(self) -> None:
        try:
            await asyncio.wait_for(self._context.drain(), DRAIN_SECONDS)
            # Let the acknowledgements the drain released reach the socket writers.
            await asyncio.sleep(0.2)
        except Exception as exc:
            log.error("drain did not finish; shutting down anyway", extra=describe_error(exc))
        self.should_exit = True


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(apply_migrations(settings.async_database_url))
    print("database is at the newest revision")
    return 0


def _user_create(settings: Settings, args: argparse.Namespace) -> int:
    from pipechat.users.schemas import UserCreate
    from pipechat.users.service import do_create_user

    password = args.password or os.environ.get("PIPECHAT_NEW_USER_PASSWORD") or getpass.getpass()
    data = UserCreate.model_validate(
        {"nickname": args.nickname, "email": args.email, "password": password}
    )

    async def create() -> int:
        await apply_migrations(settings.async_database_url)
        context = AppContext.from_settings(settings)
        try:
            user = await do_create_user(context.db, context.passwords, data)
        finally:
            await context.db.dispose()
        return user.id

    print(f"created user {asyncio.run(create())}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `pipechat` command."""
    parser = argparse.ArgumentParser(prog="pipechat", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="apply migrations and run the server")
    serve.add_argument("--host", help="interface to bind (PIPECHAT_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (PIPECHAT_PORT, default 8000)")
    serve.add_argument("--access-log", action="store_true", help="log every HTTP request")
    serve.set_defaults(handler=_serve)
    commands.add_parser("migrate", help="apply pending migrations").set_defaults(handler=_migrate)
    user = commands.add_parser("user", help="manage users")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    create = user_commands.add_parser("create", help="create a user")
    create.add_argument("--nickname", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="default: PIPECHAT_NEW_USER_PASSWORD or a prompt")
    create.set_defaults(handler=_user_create)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `pipechat` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        # Only `serve` reports its migrations; other commands print just their answer.
        configure_logging(settings.log_level, settings.log_format,
                          quiet_migrations=args.handler is not _serve)
        settings.resolve_jwt_secret()
        handler = args.handler
        return int(handler(settings, args))
    except (ConfigError, ValidationError) as exc:
        print(f"pipechat: {exc}", file=sys.stderr)
        return 2
    except ChatError as exc:
        print(f"pipechat: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
