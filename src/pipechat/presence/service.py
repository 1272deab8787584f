"""Presence: a user is online while one of their sockets is connected on any process.

The gateway reports each socket that opens or closes; this process counts them per user and
tells its store (presence/store.py) only of a user's first and last socket here. A user whose
last socket closed is settled after `PIPECHAT_PRESENCE_GRACE_SECONDS` (one timer handle per
such user), so a reconnect within it is no offline/online flap. Store calls and announcements
run in one worker task, in order, never on the connect path.

An announcement is committed (users.online, users.last_seen_at), then published as `presence`
to every user who shares a chat with them. A heartbeat task sweeps processes that died.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.chats.models import chat_members
from pipechat.context import Publisher
from pipechat.db import Database, utc_now
from pipechat.logs import describe_error
from pipechat.presence.schemas import PresenceChange
from pipechat.presence.store import Announcement, Job, PresenceStore
from pipechat.users.models import User

log = logging.getLogger("pipechat.presence")

# Most store jobs handled together: one Redis round trip and one commit for all of them.
BATCH = 1000


async def list_chat_peers(session: AsyncSession, user_ids: list[int]) -> dict[int, list[int]]:
    """For each of `user_ids`, everyone who shares a chat with them (not themselves)."""
    mine, theirs = chat_members.alias("mine"), chat_members.alias("theirs")
    rows = await session.execute(
        select(mine.c.user_id, theirs.c.user_id).distinct()
        .join(theirs, theirs.c.chat_id == mine.c.chat_id)
        .where(mine.c.user_id.in_(user_ids), theirs.c.user_id != mine.c.user_id))
    peers: dict[int, list[int]] = defaultdict(list)
    for user_id, peer_id in rows:
        peers[user_id].append(peer_id)
    return peers


async def check_shares_chat(session: AsyncSession, viewer_id: int, user_id: int) -> bool:
    """True when `viewer_id` may see the presence of `user_id`: a shared chat, or themselves."""
    if viewer_id == user_id:
        return True
    mine, theirs = chat_members.alias("mine"), chat_members.alias("theirs")
    found = await session.scalar(
        select(mine.c.chat_id).join(theirs, theirs.c.chat_id == mine.c.chat_id)
        .where(mine.c.user_id == viewer_id, theirs.c.user_id == user_id).limit(1))
    return found is not None


class PresenceService:
    """This process's view of its users' sockets, and the announcer of transitions."""

    def __init__(self, db: Database, store: PresenceStore, publish: Publisher,
                 grace: float, heartbeat: float) -> None:
        self._db = db
        self._store = store
        self._publish = publish
        self._grace = grace
        self._heartbeat = heartbeat
        self._local: dict[int, int] = {}
        self._settling: dict[int, asyncio.TimerHandle] = {}
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def online_here(self) -> int:
        """How many users have a socket on this process."""
        return len(self._local)

    async def start(self, forget_previous: bool) -> None:
        """Start the worker and heartbeat; `forget_previous`: nobody is online (one process)."""
        if forget_previous:
            async with self._db.write() as session:
                await session.execute(update(User).where(User.online.is_(True)).values(
                    online=False, updated_at=User.updated_at)
                    .execution_options(synchronize_session=False))
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work(), name="presence"),
                       loop.create_task(self._beat(), name="presence-heartbeat")]

    async def close(self) -> None:
        """Stop; with Redis the other processes settle this one's users."""
        for handle in self._settling.values():
            handle.cancel()
        self._settling.clear()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self._store.close()
        except Exception as exc:
            log.warning("could not close the presence store", extra=describe_error(exc))

    def socket_opened(self, user_id: int) -> None:
        """A socket of `user_id` connected to this process."""
        count = self._local.get(user_id, 0)
        self._local[user_id] = count + 1
        if count == 0:
            handle = self._settling.pop(user_id, None)
            if handle is not None:
                handle.cancel()
            self._jobs.put_nowait(("connect", user_id))

    def socket_closed(self, user_id: int) -> None:
        """A socket of `user_id` on this process disconnected."""
        count = self._local.pop(user_id, 0) - 1
        if count > 0:
            self._local[user_id] = count
            return
        self._jobs.put_nowait(("disconnect", user_id))
        loop = asyncio.get_running_loop()
        self._settling[user_id] = loop.call_later(self._grace, self._grace_over, user_id)

    def _grace_over(self, user_id: int) -> None:
        self._settling.pop(user_id, None)
        if user_id not in self._local:
            self._jobs.put_nowait(("settle", user_id))

    async def _work(self) -> None:
        while True:
            jobs = [await self._jobs.get()]
            while len(jobs) < BATCH and not self._jobs.empty():
                jobs.append(self._jobs.get_nowait())
            try:
                await self._announce(await self._store.apply(jobs))
            except Exception as exc:  # Redis or the database: these users, not the task
                log.warning("presence update failed", extra=describe_error(exc))

    async def _beat(self) -> None:
        while True:
            try:
                await self._announce([(user_id, False) for user_id in await self._store.sweep()])
            except Exception as exc:
                log.warning("presence heartbeat failed", extra=describe_error(exc))
            await asyncio.sleep(self._heartbeat)

    async def _announce(self, announcements: list[Announcement]) -> None:
        """Commit the transitions (one transaction), then tell each user's chat peers."""
        if not announcements:
            return
        now = utc_now()
        final = dict(announcements)  # a user's last transition is their state
        async with self._db.write() as session:
            for online in (True, False):
                ids = [user_id for user_id, state in final.items() if state is online]
                if ids:
                    # updatedAt is the profile's: presence is not an edit of it.
                    await session.execute(update(User).where(User.id.in_(ids)).values(
                        online=online, last_seen_at=now, updated_at=User.updated_at)
                        .execution_options(synchronize_session=False))
            peers = await list_chat_peers(session, list(final))
        for user_id, online in announcements:
            change = PresenceChange(user_id=user_id, online=online, last_seen_at=now)
            await self._publish("presence", change.model_dump(mode="json", by_alias=True),
                                peers.get(user_id, []))
