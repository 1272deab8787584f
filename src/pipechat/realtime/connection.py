"""Who is behind a socket, and authenticating them at connect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipechat.auth.opensessions import SessionUser
from pipechat.auth.service import parse_authorization
from pipechat.context import AppContext
from pipechat.errors import ChatError, ErrorCode
from pipechat.realtime.ratelimit import TokenBucket

# What a socket needs of its user for as long as it stays connected. Not the ORM `User`: a
# detached row with its instance state cost about 2 KiB per socket, and nothing after the
# connect needs more than its id and nickname. One object per session, shared by its sockets.
SocketUser = SessionUser


@dataclass(slots=True)
class Connection:
    """One authenticated socket: its user, its rate limit, its session and when it expires.

    Its sends keep their order without a lock: the server handles a socket's events one after
    another (`async_handlers=False`), and `send_message` submits before it returns.
    """

    user: SocketUser
    bucket: TokenBucket
    session_id: int
    expires_at: int  # Unix seconds: the expiry of the last access token the client presented


def _token_from(environ: dict[str, Any], auth: Any) -> str:
    """The access token of a handshake: `auth.token` first, else `Authorization: Bearer`."""
    if auth is not None:
        if not isinstance(auth, dict) or not isinstance(auth.get("token"), str | None):
            raise ChatError(ErrorCode.UNAUTHENTICATED, "auth must be an object {token: string}")
        if auth.get("token"):
            return str(auth["token"])
    header = environ.get("HTTP_AUTHORIZATION")
    if not header:
        raise ChatError(ErrorCode.UNAUTHENTICATED,
                        "an access token is required: auth {token} or Authorization: Bearer")
    return parse_authorization(header, "Bearer")


async def access_connection(context: AppContext, environ: dict[str, Any], auth: Any) -> Connection:
    """The connection of a valid access token of an open session; a 11x ChatError otherwise."""
    claims = context.tokens.check_token(_token_from(environ, auth), "access")
    user = await context.sessions.access_user(claims)
    settings = context.settings
    bucket = TokenBucket(settings.rate_limit_per_second, settings.rate_limit_burst)
    return Connection(user, bucket, claims.session_id, claims.expires_at)
