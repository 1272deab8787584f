"""Throttles beyond one socket: failed logins, registrations, chats created, open sockets.

The counted throttles go through `Counters` (Redis when `PIPECHAT_REDIS_URL` is set, so a
round-robin proxy in front of several processes gives an attacker no extra attempts); open
sockets are counted per process, since a count in Redis would outlive a crashed process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.requests import HTTPConnection

from pipechat.config import Settings
from pipechat.errors import ChatError, ErrorCode, rate_limited
from pipechat.limits.counters import (
    Counters,
    Hit,
    Key,
    LocalCounters,
    RedisCounters,
    Rule,
    hashed,
)


def client_address(connection: HTTPConnection) -> str:
    """The client's IP as uvicorn reports it: a proxy's own address unless the proxy is
    trusted (`PIPECHAT_FORWARDED_ALLOW_IPS`), in which case the one in X-Forwarded-For."""
    return connection.client.host if connection.client else "unknown"


class SocketSlots:
    """How many sockets each user has open in this process, capped per user."""

    def __init__(self, per_user: int) -> None:
        self._per_user = per_user
        self._open: dict[int, int] = {}

    def do_open_socket(self, user_id: int) -> None:
        """Count one more socket of `user_id`; a 105 error when the user is at the cap."""
        count = self._open.get(user_id, 0)
        if count >= self._per_user:
            raise ChatError(ErrorCode.RATE_LIMITED,
                            f"too many open sockets: at most {self._per_user} per user; "
                            "close one and retry")
        self._open[user_id] = count + 1

    def do_close_socket(self, user_id: int) -> None:
        """Count one socket of `user_id` less (a user without sockets takes no memory)."""
        count = self._open.pop(user_id, 0) - 1
        if count > 0:
            self._open[user_id] = count

    def open_sockets(self, user_id: int) -> int:
        """How many sockets `user_id` has open in this process."""
        return self._open.get(user_id, 0)


class Limits:
    """The throttles of one process, built from the settings."""

    def __init__(self, settings: Settings, counters: Counters) -> None:
        window = settings.login_failures_window_seconds
        self.login_account = Rule("login-account", settings.login_failures_per_account, window)
        # Failures of one address on one account: decides who may still try a locked account.
        self.login_pair = Rule("login-pair", 1, window)
        self.login_address = Rule("login-address", settings.login_failures_per_address, window)
        self.registrations = Rule("registrations", settings.registrations_per_address,
                                  settings.registrations_window_seconds)
        self.chats = Rule("chats", settings.chats_per_user, settings.chats_window_seconds)
        self.counters = counters
        self.sockets = SocketSlots(settings.sockets_per_user)

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """In-process counters, or Redis ones (falling back to in-process) with Redis set."""
        local = LocalCounters(settings.limits_max_keys)
        if not settings.redis_url:
            return cls(settings, local)
        # The channel names one deployment; processes sharing it share the counts.
        prefix = f"{settings.redis_channel}:limits"
        return cls(settings, RedisCounters(settings.redis_url, prefix, local))

    async def close(self) -> None:
        """Release the counters' connections."""
        await self.counters.close()

    async def check_registration_allowed(self, address: str) -> None:
        """Count a registration attempt from `address`; a 105 error past the limit."""
        await self._check(self.registrations, address,
                          "too many registrations from this address; retry later")

    async def check_chat_creation_allowed(self, user_id: int) -> None:
        """Count a chat creation attempt of `user_id`; a 105 error past the limit."""
        await self._check(self.chats, str(user_id), "too many chats created; retry later")

    @asynccontextmanager
    async def login_attempt(self, email: str, address: str) -> AsyncIterator[None]:
        """Throttle the login checked inside the block.

        The attempt counts as a failure from the start, so a burst sent in parallel cannot
        slip past the limit before any of it has failed; it is taken back when it is refused,
        or when the block succeeds or fails for another reason than wrong credentials. A
        refusal (105) comes before the password is checked, so it says nothing about it.

        An account over its limit still lets an address that has not failed on it in this
        window try once: a stranger's failures do not lock the owner out, at the cost of one
        guess per fresh address for an attacker with many (see the README).
        """
        keys: list[Key] = [(self.login_account, hashed(email.lower())),
                           (self.login_pair, hashed(f"{email.lower()}\n{address}")),
                           (self.login_address, hashed(address))]
        refusal = self._login_refusal(*await self.counters.hit(keys))
        if refusal is not None:
            # Only checked passwords count: attempts refused on one account (or retried while
            # refused) do not use up the budget of the address.
            await self.counters.forgive(keys)
            raise refusal
        try:
            yield
        except ChatError as exc:
            if exc.code != ErrorCode.INVALID_CREDENTIALS:
                await self.counters.forgive(keys)
            raise
        except Exception:
            await self.counters.forgive(keys)
            raise
        # The right password: this address is no stranger to the account any more.
        await self.counters.forgive([keys[0], keys[2]], clear=[keys[1]])

    def _login_refusal(self, account: Hit, pair: Hit, address: Hit) -> ChatError | None:
        if address.count > self.login_address.limit:
            return rate_limited("too many failed logins from this address; retry later",
                                address.retry_after)
        if account.count > self.login_account.limit and pair.count > self.login_pair.limit:
            return rate_limited("too many failed logins for this account; retry later",
                                min(account.retry_after, pair.retry_after))
        return None

    async def _check(self, rule: Rule, key: str, message: str) -> None:
        [hit] = await self.counters.hit([(rule, hashed(key))])
        if hit.count > rule.limit:
            raise rate_limited(message, hit.retry_after)
