"""Typing indicators: relayed to a chat's room, never stored, expired by one sweep.

Each socket's `typing: true` in a chat lasts `PIPECHAT_TYPING_TIMEOUT_SECONDS` unless renewed.
A renewal within `PIPECHAT_TYPING_THROTTLE_SECONDS` of the last broadcast only moves the
expiry (no emit), so a client may send one per keystroke. `typing: false` goes out when the
client says so, when the time is up, when the user's message in the chat is saved, and when
the socket disconnects. The other processes only relay what this one emits (roomcast), so
they keep no state; expiry takes one timer handle for all typing sockets, armed while any is.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from pipechat.realtime.broadcast import BroadcastManager
from pipechat.realtime.publisher import NAMESPACE, chat_room


@dataclass(slots=True)
class _Typing:
    user_id: int
    expires_at: float
    sent_at: float


class TypingTracker:
    """This process's sockets that are typing, by socket then chat."""

    def __init__(self, manager: BroadcastManager, timeout: float, throttle: float) -> None:
        self._manager = manager
        self._timeout = timeout
        self._throttle = throttle
        self._by_socket: dict[str, dict[int, _Typing]] = {}
        # (chat, user) -> their typing sockets here: a saved message stops them all.
        self._by_author: dict[tuple[int, int], set[str]] = {}
        self._sweep: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return sum(len(chats) for chats in self._by_socket.values())

    def update(self, sid: str, user_id: int, chat_id: int, typing: bool) -> None:
        """Apply a client's `typing` event (membership already checked)."""
        now = time.monotonic()
        chats = self._by_socket.get(sid)
        entry = chats.get(chat_id) if chats is not None else None
        if not typing:
            if entry is not None:
                self._stop(sid, chat_id)
            return
        if entry is not None:
            entry.expires_at = now + self._timeout
            if now - entry.sent_at < self._throttle:
                return
            entry.sent_at = now
        else:
            self._by_socket.setdefault(sid, {})[chat_id] = _Typing(user_id, now + self._timeout,
                                                                   now)
            self._by_author.setdefault((chat_id, user_id), set()).add(sid)
            self._arm()
        self._emit(sid, user_id, chat_id, True)

    def message_saved(self, chat_id: int, user_id: int) -> None:
        """The user's message in the chat is saved: they stopped typing there."""
        for sid in list(self._by_author.get((chat_id, user_id), ())):
            self._stop(sid, chat_id)

    def socket_closed(self, sid: str) -> None:
        """The socket is gone: whatever it was typing stops."""
        for chat_id in list(self._by_socket.get(sid, ())):
            self._stop(sid, chat_id)

    def _stop(self, sid: str, chat_id: int) -> None:
        chats = self._by_socket.get(sid)
        entry = chats.pop(chat_id, None) if chats is not None else None
        if chats is None or entry is None:
            return
        if not chats:
            del self._by_socket[sid]
        key = (chat_id, entry.user_id)
        sids = self._by_author.get(key)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._by_author[key]
        self._emit(sid, entry.user_id, chat_id, False)

    def _emit(self, sid: str, user_id: int, chat_id: int, typing: bool) -> None:
        payload = {"chatId": chat_id, "userId": user_id, "typing": typing}
        self._manager.publish_now("typing", payload, NAMESPACE, chat_room(chat_id),
                                  skip_sid=sid)

    def _arm(self) -> None:
        if self._sweep is None:
            # A sweep a few times per timeout: an expiry is late by at most that much.
            delay = min(1.0, self._timeout / 4)
            self._sweep = asyncio.get_running_loop().call_later(delay, self._expire)

    def _expire(self) -> None:
        self._sweep = None
        now = time.monotonic()
        due = [(sid, chat_id) for sid, chats in self._by_socket.items()
               for chat_id, entry in chats.items() if entry.expires_at <= now]
        for sid, chat_id in due:
            self._stop(sid, chat_id)
        if self._by_socket:
            self._arm()
