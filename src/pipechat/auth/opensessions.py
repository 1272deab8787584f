"""Which sessions are open, as one process knows it: the socket connect check without a query
per connect.

After a restart every client reconnects at once. Checking each token's session and user
with its own query made the database round trip (and, on SQLite, a thread hop each) the
cost of a connect. Here:

- a session found open is remembered for `PIPECHAT_SESSION_CACHE_SECONDS`, so the next
  sockets of that session (tabs, reconnects) are checked without the database;
- sessions not remembered are looked up together: every connect that waits while a query
  runs joins the next one (`id IN (...)`), so a storm costs a few queries, not one each;
- a revoked session is forgotten on every process at once: `end` runs on the same internal
  broadcast that disconnects the session's sockets (`pipechat:session-ended`, through Redis
  when there are several processes). A lookup that was under way when the broadcast arrived
  is refused rather than trusted, so no socket of a revoked session gets past the check.

The time limit bounds how long a revocation can go unseen if its broadcast is lost (Redis
down at that moment), and how long a user deleted straight in the database (pipechat has no
route for that) can still connect on a process that saw one of their sessions. What is cached
is "the user exists and the session is open"; the token's own signature, type and expiry are
checked at every connect, and a socket's token renewal (`authenticate`) always asks the
database.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from pipechat.auth.models import LoginSession
from pipechat.auth.service import TokenClaims
from pipechat.db import Database
from pipechat.errors import ChatError, ErrorCode
from pipechat.users.models import User

# Sessions looked up in one query at most (SQLite allows 32,766 bound parameters).
LOOKUP_BATCH_MAX = 500
# Revoked session ids remembered to refuse lookups that raced with the revocation.
_ENDED_MAX = 10_000


@dataclass(frozen=True, slots=True)
class SessionUser:
    """What a socket needs of its user: shared by every socket of one session."""

    id: int
    nickname: str


@dataclass(frozen=True, slots=True)
class _Row:
    user_id: int
    nickname: str
    revoked_at: datetime | None


def _gone() -> ChatError:
    return ChatError(ErrorCode.UNAUTHENTICATED, "the token's user or session no longer exists")


def _revoked() -> ChatError:
    return ChatError(ErrorCode.SESSION_REVOKED, "the session was logged out; log in again")


class OpenSessions:
    """The open sessions this process has seen lately, and the lookups of the others."""

    def __init__(self, db: Database, *, max_entries: int, ttl_seconds: float) -> None:
        self._db = db
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        # session id -> (its user, monotonic time it was found open); oldest first.
        self._open: OrderedDict[int, tuple[SessionUser, float]] = OrderedDict()
        self._ended: OrderedDict[int, None] = OrderedDict()
        # Each waiter has its own future: one connect given up on cancels no other.
        self._wanted: dict[int, list[asyncio.Future[_Row | None]]] = {}
        self._lookup: asyncio.Task[None] | None = None

    async def access_user(self, claims: TokenClaims, *, fresh: bool = False) -> SessionUser:
        """The user of a checked token whose session is open; 110 or 114 otherwise.

        `fresh`: ask the database even when the session was seen open lately (and remember
        the answer either way).
        """
        session_id = claims.session_id
        entry = self._open.get(session_id)
        if entry is not None and not fresh and time.monotonic() - entry[1] < self._ttl:
            if entry[0].id != claims.user_id:
                raise _gone()
            return entry[0]
        if session_id in self._ended:
            raise _revoked()
        row = await self._look_up(session_id)
        # Ended while the query ran (its answer may predate the revocation): refuse.
        if session_id in self._ended or (row is not None and row.revoked_at is not None):
            raise _revoked()
        if row is None:
            self._open.pop(session_id, None)  # its user (and so the session) was deleted
            raise _gone()
        if row.user_id != claims.user_id:
            raise _gone()
        return self._remember(session_id, row)

    def end(self, session_id: int) -> None:
        """The session was revoked: refuse it from now on, on this process."""
        self._open.pop(session_id, None)
        self._ended[session_id] = None
        if len(self._ended) > _ENDED_MAX:
            self._ended.popitem(last=False)

    def _remember(self, session_id: int, row: _Row) -> SessionUser:
        entry = self._open.get(session_id)
        user = entry[0] if entry is not None and entry[0].id == row.user_id else \
            SessionUser(row.user_id, row.nickname)
        self._open[session_id] = (user, time.monotonic())
        self._open.move_to_end(session_id)
        while len(self._open) > self._max_entries:
            self._open.popitem(last=False)
        return user

    def _look_up(self, session_id: int) -> asyncio.Future[_Row | None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Row | None] = loop.create_future()
        self._wanted.setdefault(session_id, []).append(future)
        if self._lookup is None:
            self._lookup = loop.create_task(self._run_lookups())
        return future

    async def _run_lookups(self) -> None:
        """Query the wanted sessions, a batch at a time, until none is left."""
        try:
            while self._wanted:
                batch = dict(list(self._wanted.items())[:LOOKUP_BATCH_MAX])
                for session_id in batch:
                    del self._wanted[session_id]
                try:
                    rows = await self._query(list(batch))
                except asyncio.CancelledError:
                    for futures in [*batch.values(), *self._wanted.values()]:
                        for future in futures:
                            future.cancel()
                    self._wanted.clear()
                    raise
                except Exception as exc:
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for session_id, futures in batch.items():
                    row = rows.get(session_id)
                    for future in futures:
                        if not future.done():
                            future.set_result(row)
        finally:
            self._lookup = None

    async def _query(self, session_ids: list[int]) -> dict[int, _Row]:
        statement = (select(LoginSession.id, LoginSession.user_id, LoginSession.revoked_at,
                            User.nickname)
                     .join(User, User.id == LoginSession.user_id)
                     .where(LoginSession.id.in_(session_ids)))
        async with self._db.read_engine.connect() as connection:
            result = await connection.execute(statement)
            return {row.id: _Row(row.user_id, row.nickname, row.revoked_at) for row in result}
