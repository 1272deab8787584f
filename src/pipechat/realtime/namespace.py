"""The `/chats` namespace: connect, the client events, acks and `exception`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import socketio
from socketio.exceptions import ConnectionRefusedError as RefuseConnection
from sqlalchemy.exc import DBAPIError, OperationalError

from pipechat.auth.schemas import SocketAuthenticate, SocketAuthenticated
from pipechat.auth.sessions import access_socket_token
from pipechat.chats.creation import do_create_chat
from pipechat.chats.reads import submit_mark
from pipechat.chats.schemas import ChatCreate, ChatIds, MarkRead, ReadMarker
from pipechat.chats.service import MembershipCache, access_chat_ids
from pipechat.context import AppContext
from pipechat.errors import ChatError, ErrorCode, validation_error
from pipechat.logs import describe_error
from pipechat.messages.actions import delete_message, edit_message
from pipechat.messages.reactions import add_reaction, remove_reaction
from pipechat.messages.schemas import MessageCreate, MessageEditEvent, MessageRef, ReactionInput
from pipechat.messages.service import access_reply_target, check_message_text
from pipechat.messages.writer import SavedMessage
from pipechat.metrics import CONNECTED_SOCKETS, ERRORS, MESSAGES_RECEIVED
from pipechat.presence.schemas import TypingUpdate
from pipechat.realtime.connection import Connection, access_connection
from pipechat.realtime.lifetimes import SocketLifetimes
from pipechat.realtime.payloads import MalformedEvent, parse_payload
from pipechat.realtime.publisher import NAMESPACE, chat_room, user_room
from pipechat.realtime.typing import TypingTracker

log = logging.getLogger("pipechat.realtime")

# Set by the server around each client event: whether the client asked for an ack. None means
# the call did not come from a client event (the server's own connect/disconnect).
ACK_WANTED: ContextVar[bool | None] = ContextVar("ack_wanted", default=None)

Handler = Callable[[str, Connection, tuple[Any, ...]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class PendingReply:
    """A handler's answer that is known only once `future` settles (a send's commit).

    The server replies from the future's done-callback instead of awaiting it, so a socket's
    events are handled in order without a task each, and later sends need not wait for the
    commit of earlier ones.
    """

    future: asyncio.Future[Any]
    render: Callable[[Any], Any]


def _unavailable() -> ChatError:
    return ChatError(ErrorCode.SERVICE_UNAVAILABLE, "the database is unavailable, retry")


def _as_chat_error(event: Any, exc: Exception) -> ChatError:
    """What the client is told about a failed event: its own error, or 150 / 199."""
    if isinstance(exc, ChatError):
        return exc
    if isinstance(exc, OperationalError | DBAPIError):
        log.warning("database error in %s: %s", event, type(exc).__name__)
        return _unavailable()
    log.error("bug while handling %r", event, extra=describe_error(exc))
    return ChatError(ErrorCode.INTERNAL, "internal error; please report it")


def _render_marker(marker: ReadMarker) -> Any:
    return marker.model_dump(mode="json", by_alias=True)


def _refusal(error: ChatError) -> RefuseConnection:
    """What the client's `connect_error` gets: `err.message` and `err.data = {code, message}`."""
    return RefuseConnection(error.message, {"code": int(error.code), "message": error.message})


class ChatsNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Handlers of `/chats`; every reply is an ack or, without one, an `exception` event."""

    def __init__(self, context: AppContext, typing: TypingTracker) -> None:
        super().__init__(NAMESPACE)
        self._context = context
        self._typing = typing
        self._connections: dict[str, Connection] = {}
        self.lifetimes = SocketLifetimes(self._connections, self._end_socket)
        self._members = MembershipCache()
        self._handlers: dict[str, Handler] = {
            "authenticate": self._authenticate,
            "create_chat": self._create_chat,
            "enter_chat": self._enter_chat,
            "leave_chat": self._leave_chat,
            "mark_read": self._mark_read,
            "send_message": self._send_message,
            "edit_message": self._edit_message,
            "delete_message": self._delete_message,
            "add_reaction": self._add_reaction,
            "remove_reaction": self._remove_reaction,
            "typing": self._typing_update,
        }

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        """Route every event ourselves, so unknown names get an error instead of silence."""
        wants_ack = ACK_WANTED.get()
        if wants_ack is None:
            if event == "connect":
                return await self._connect(args[0], args[1], args[2] if len(args) > 2 else None)
            if event == "disconnect":
                self._forget(args[0])
            return None
        sid = args[0]
        try:
            data = await self._dispatch(event, sid, args[1:])
        except Exception as exc:
            return self._report(sid, _as_chat_error(event, exc), wants_ack)
        if isinstance(data, PendingReply):
            return data
        return {"status": "ok", "data": data}

    def settle(self, sid: str, reply: PendingReply, wants_ack: bool) -> Any:
        """The ack payload of a settled reply; without an ack, errors go out as `exception`."""
        if reply.future.cancelled():
            return self._report(sid, _unavailable(), wants_ack)
        try:
            data = reply.render(reply.future.result())
        except Exception as exc:
            return self._report(sid, _as_chat_error("send_message", exc), wants_ack)
        return {"status": "ok", "data": data}

    def _forget(self, sid: str) -> None:
        connection = self._connections.pop(sid, None)
        if connection is not None:
            self._context.limits.sockets.do_close_socket(connection.user.id)
            self._typing.socket_closed(sid)
            if self._context.presence is not None:
                self._context.presence.socket_closed(connection.user.id)
            CONNECTED_SOCKETS.dec()
            log.debug("socket disconnected", extra={"sid": sid, "user_id": connection.user.id})

    def _report(self, sid: str, error: ChatError, wants_ack: bool) -> Any:
        ERRORS.labels(code=str(int(error.code))).inc()
        if wants_ack:
            return error.socket_payload()
        # The socket is on this process: no need to route the reply through Redis.
        self.server.manager.emit_now("exception", error.socket_payload(), NAMESPACE, sid)
        return None

    async def _dispatch(self, event: Any, sid: str, args: tuple[Any, ...]) -> Any:
        connection = self._connections.get(sid)
        if connection is None:
            raise ChatError(ErrorCode.UNAUTHENTICATED, "this socket is not authenticated")
        if connection.expires_at <= time.time():
            # Its timer is due (or late): nothing more is handled for this token.
            raise ChatError(ErrorCode.TOKEN_EXPIRED, "the access token has expired")
        if not connection.bucket.take():
            raise ChatError(ErrorCode.RATE_LIMITED,
                            "too many events; slow down and retry in a moment")
        if isinstance(event, MalformedEvent):
            raise validation_error(event.reason)
        handler = self._handlers.get(event) if isinstance(event, str) else None
        if handler is None:
            name = event[:50] if isinstance(event, str) else repr(event)[:50]
            raise ChatError(ErrorCode.UNKNOWN_EVENT, f"unknown event {name!r}")
        return await handler(sid, connection, args)

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        try:
            connection = await access_connection(self._context, environ, auth)
        except ChatError as error:
            raise _refusal(error) from error
        except (OperationalError, DBAPIError) as exc:
            raise _refusal(_unavailable()) from exc
        try:
            self._context.limits.sockets.do_open_socket(connection.user.id)
        except ChatError as error:
            raise _refusal(error) from error
        self._connections[sid] = connection
        self.lifetimes.watch(sid, connection, connection.expires_at)
        CONNECTED_SOCKETS.inc()
        log.debug("socket connected", extra={"sid": sid, "user_id": connection.user.id})
        await self.enter_room(sid, user_room(connection.user.id))
        if self._context.presence is not None:
            self._context.presence.socket_opened(connection.user.id)

    async def _end_socket(self, sid: str, error: ChatError) -> None:
        """Tell a socket why with an `exception` event, then disconnect it."""
        connection = self._connections.get(sid)
        if connection is None:
            return
        log.info("socket ended", extra={"sid": sid, "user_id": connection.user.id,
                                        "code": int(error.code)})
        self._report(sid, error, wants_ack=False)
        await self.server.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)

    async def members_left(self, chat_id: int, user_ids: list[int]) -> None:
        """These users left the chat: their sockets on this process leave its room."""
        self._members.forget((chat_id, user_id) for user_id in user_ids)
        manager = self.server.manager
        for user_id in user_ids:
            for sid, _eio_sid in manager.get_participants(NAMESPACE, user_room(user_id)):
                await self.leave_room(sid, chat_room(chat_id))

    async def _authenticate(self, sid: str, connection: Connection,
                            args: tuple[Any, ...]) -> Any:
        data = parse_payload(SocketAuthenticate, args)
        claims = await access_socket_token(self._context, data.token, connection.user.id)
        # Another session of the same user is fine: the socket follows the newer token.
        connection.session_id = claims.session_id
        if claims.expires_at != connection.expires_at:
            self.lifetimes.watch(sid, connection, claims.expires_at)
        expires_at = datetime.fromtimestamp(claims.expires_at, UTC)
        return SocketAuthenticated(expires_at=expires_at).model_dump(mode="json", by_alias=True)

    async def _create_chat(self, _sid: str, connection: Connection,
                           args: tuple[Any, ...]) -> Any:
        data = parse_payload(ChatCreate, args)
        await self._context.limits.check_chat_creation_allowed(connection.user.id)
        chat = (await do_create_chat(self._context, connection.user.id, data)).chat
        self._members.remember((chat.id, user.id) for user in chat.users)
        return chat.model_dump(mode="json", by_alias=True)

    async def _enter_chat(self, sid: str, connection: Connection, args: tuple[Any, ...]) -> Any:
        chat_ids = list(dict.fromkeys(parse_payload(ChatIds, args).chat_ids))
        # All or nothing: every chat is checked before any room is joined.
        await access_chat_ids(self._context.db, self._members, chat_ids, connection.user.id)
        for chat_id in chat_ids:
            await self.enter_room(sid, chat_room(chat_id))
        return {"chatIds": chat_ids}

    async def _leave_chat(self, sid: str, _connection: Connection,
                          args: tuple[Any, ...]) -> Any:
        chat_ids = list(dict.fromkeys(parse_payload(ChatIds, args).chat_ids))
        for chat_id in chat_ids:
            await self.leave_room(sid, chat_room(chat_id))
        return {"chatIds": chat_ids}

    async def _mark_read(self, sid: str, connection: Connection,
                         args: tuple[Any, ...]) -> PendingReply:
        data = parse_payload(MarkRead, args)
        # Group-committed like a send: answered when its batch is written and published.
        future = submit_mark(self._context, data.chat_id, connection.user.id,
                             data.message_id, origin=sid)
        return PendingReply(future, _render_marker)

    async def _send_message(self, sid: str, connection: Connection,
                            args: tuple[Any, ...]) -> PendingReply:
        writer = self._context.message_writer
        if writer is None:
            raise ChatError(ErrorCode.SERVICE_UNAVAILABLE, "the server is not ready, retry")
        user = connection.user
        # A socket's events are handled one after another (the server runs handlers inline),
        # so submitting here fixes the commit order; the commit itself is not awaited.
        data = parse_payload(MessageCreate, args)
        check_message_text(data.message, self._context.settings.message_max_length)
        await access_chat_ids(self._context.db, self._members, [data.chat_id], user.id)
        reply_to = None
        if data.reply_to_id is not None:
            reply_to = await access_reply_target(self._context.db, data.chat_id,
                                                 data.reply_to_id)
        future = writer.submit(data.chat_id, user.id, user.nickname, data.message,
                               data.client_message_id, origin=sid, reply_to=reply_to)
        MESSAGES_RECEIVED.inc()
        return PendingReply(future, SavedMessage.to_wire)

    async def _edit_message(self, _sid: str, connection: Connection,
                            args: tuple[Any, ...]) -> Any:
        data = parse_payload(MessageEditEvent, args)
        edited = await edit_message(self._context, connection.user.id, data.message_id,
                                    data.message)
        return edited.model_dump(mode="json", by_alias=True)

    async def _delete_message(self, _sid: str, connection: Connection,
                              args: tuple[Any, ...]) -> Any:
        data = parse_payload(MessageRef, args)
        deleted = await delete_message(self._context, connection.user.id, data.message_id)
        return deleted.model_dump(mode="json", by_alias=True)

    async def _add_reaction(self, _sid: str, connection: Connection,
                            args: tuple[Any, ...]) -> Any:
        data = parse_payload(ReactionInput, args)
        added = await add_reaction(self._context, connection.user.id, data.message_id,
                                   data.emoji)
        return added.model_dump(mode="json", by_alias=True)

    async def _remove_reaction(self, _sid: str, connection: Connection,
                               args: tuple[Any, ...]) -> Any:
        data = parse_payload(ReactionInput, args)
        removed = await remove_reaction(self._context, connection.user.id, data.message_id,
                                        data.emoji)
        return removed.model_dump(mode="json", by_alias=True)

    async def _typing_update(self, sid: str, connection: Connection,
                             args: tuple[Any, ...]) -> Any:
        data = parse_payload(TypingUpdate, args)
        user_id = connection.user.id
        await access_chat_ids(self._context.db, self._members, [data.chat_id], user_id)
        self._typing.update(sid, user_id, data.chat_id, data.typing)
        return {"chatId": data.chat_id, "typing": data.typing}
