"""What one server process shares between its REST routes and its Socket.IO gateway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pipechat.auth.opensessions import OpenSessions
from pipechat.auth.service import PasswordHasher, TokenService
from pipechat.config import Settings
from pipechat.db import Database
from pipechat.limits.service import Limits

if TYPE_CHECKING:
    from pipechat.chats.reads import ReadWriter
    from pipechat.messages.writer import MessageWriter
    from pipechat.presence.service import PresenceService



class Publisher(Protocol):
    """Emits an event to every socket of these users (but `skip_sid`), after a commit."""

    def __call__(self, event: str, data: Any, user_ids: list[int], /,
                 skip_sid: str | None = None) -> Awaitable[None]: ...


SessionEnder = Callable[[int], Awaitable[None]]
RoomLeaver = Callable[[int, list[int]], Awaitable[None]]


async def _publish_nowhere(_event: str, _data: Any, _user_ids: list[int],
                           skip_sid: str | None = None) -> None:
    """Used until a gateway is attached: there is nobody to tell."""


async def _no_sockets_to_end(_session_id: int) -> None:
    """Used until a gateway is attached: no socket is open."""


async def _no_rooms_to_leave(_chat_id: int, _user_ids: list[int]) -> None:
    """Used until a gateway is attached: no socket is in a room."""


async def _nothing_to_drain() -> None:
    """Used until the app has started: nothing was accepted yet."""


@dataclass
class AppContext:
    """Settings, database and services of one process, built once by the app factory."""

    settings: Settings
    db: Database
    tokens: TokenService
    passwords: PasswordHasher
    limits: Limits
    # The sessions this process found open: what socket connects are checked against.
    sessions: OpenSessions
    publish_to_users: Publisher = field(default=_publish_nowhere)
    # Disconnects every socket of a revoked session, on every process.
    end_session_sockets: SessionEnder = field(default=_no_sockets_to_end)
    # Takes these users' sockets out of a chat's room, on every process (they left the chat).
    leave_chat_rooms: RoomLeaver = field(default=_no_rooms_to_leave)
    message_writer: MessageWriter | None = None
    # Counts this process's sockets per user and announces presence (set while serving).
    presence: PresenceService | None = None
    # Group-commits read marks (`chats.reads`); started with the app, like the writer.
    read_writer: ReadWriter | None = None
    # Commits and delivers everything accepted so far and refuses new messages (shutdown).
    drain: Callable[[], Awaitable[None]] = field(default=_nothing_to_drain)

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        """Build the context; raises `ConfigError` for unsafe settings."""
        db = Database(settings)
        return cls(
            settings=settings,
            db=db,
            tokens=TokenService(
                secret=settings.resolve_jwt_secret(),
                access_ttl=settings.access_token_ttl_seconds,
                refresh_ttl=settings.refresh_token_ttl_seconds,
                session_ttl=settings.session_max_age_seconds,
            ),
            passwords=PasswordHasher(
                time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
            ),
            limits=Limits.from_settings(settings),
            sessions=OpenSessions(db, max_entries=settings.session_cache_size,
                                  ttl_seconds=settings.session_cache_seconds),
        )
