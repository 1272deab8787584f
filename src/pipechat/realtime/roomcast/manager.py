"""`RoomcastManager`: python-socketio's pub/sub client manager with a Redis channel per room.

python-socketio's `AsyncRedisManager` publishes every emit on one channel that every process
receives and decodes, whatever rooms it hosts. This manager (docs/scaling.md):

- subscribes to the channel of a room only while one of this process's sockets is in it:
  chat rooms, user rooms, each socket's own sid room (for `to=sid` from elsewhere) and the
  namespace (for namespace-wide emits). `basic_enter_room` / `basic_leave_room`, through which
  python-socketio adds and removes every member, keep the subscriptions;
- delivers an emit to this process's sockets at once, then queues it in the outbox, which
  publishes in pipelines. The frame carries the encoded packet and the publisher's host id:
  receivers skip their own frames and deliver the others without decoding any JSON;
- leaves python-socketio's own messages as they are (JSON, its handlers): emits with a
  callback or binary data, internal events, and the management of a socket on another process
  (enter_room, leave_room, disconnect, close_room, callbacks). `_publish` sends each on the
  channel of the room or sid it concerns; callbacks go to the asking process's own channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from socketio.async_pubsub_manager import AsyncPubSubManager

from pipechat.logs import describe_error
from pipechat.metrics import PUBSUB_RECEIVED
from pipechat.realtime.broadcast import BroadcastManager, EncodedPacket
from pipechat.realtime.roomcast.channels import (
    ChannelNames,
    earlier_rooms,
    frame_host,
    is_frame,
    pack_frame,
    unpack_frame,
)
from pipechat.realtime.roomcast.links import RedisLinks, Sharding
from pipechat.realtime.roomcast.outbox import Outbox
from pipechat.realtime.roomcast.subscriptions import Subscriptions

log = logging.getLogger("pipechat.realtime")

_FROM_SELF = PUBSUB_RECEIVED.labels(origin="self")
_FROM_OTHERS = PUBSUB_RECEIVED.labels(origin="other")


def _as_list(rooms: Any) -> list[Any]:
    """A room argument as python-socketio reads it: one room (None: all) or several."""
    if rooms is not None and not isinstance(rooms, str) and hasattr(rooms, "__len__"):
        return list(dict.fromkeys(rooms))
    return [rooms]


class RoomcastManager(AsyncPubSubManager, BroadcastManager):  # type: ignore[misc]
    """A client manager for several processes: one Redis channel per room."""

    name = "roomcast"
    # Events the manager acts on itself on every process instead of sending them to clients;
    # they take python-socketio's JSON path, whose local delivery runs the subclass's `emit`.
    internal_events: frozenset[str] = frozenset()

    def __init__(self, url: str, channel: str, sharding: Sharding = "auto",
                 outbox_max: int = 10_000, timeout: float = 2.0) -> None:
        super().__init__(channel=channel)
        links = RedisLinks(url, sharding, timeout)
        self.names = ChannelNames(channel)
        self.outbox = Outbox(links, outbox_max)
        self.subscriptions = Subscriptions(links, timeout)
        self.subscriptions.want(self.names.host(self.host_id), None)
        self._host = self.host_id.encode()
        self._started = False

    def initialize(self) -> None:
        """Start listening and publishing; the gateway calls it at start, the server again."""
        if self._started:
            return
        self._started = True
        super().initialize()
        self.outbox.start()

    async def flush(self, grace: float) -> bool:
        """Wait (at most `grace` seconds) until every queued emit is published."""
        return await self.outbox.flush(grace)

    async def close(self) -> None:
        """Stop listening and publishing, and close the connections."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            await asyncio.gather(thread, return_exceptions=True)
        await self.outbox.close()
        await self.subscriptions.close()

    # Membership: a room's channel is wanted while the room has a member here.

    def basic_enter_room(self, sid: str, namespace: str, room: Any,
                         eio_sid: str | None = None) -> None:
        """Add a member; the room's first one here subscribes to its channel."""
        new = room not in self.rooms.get(namespace, ())
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        if new:
            self.subscriptions.want(self.names.room(namespace, room), (namespace, room))

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        """Remove a member; the room's last one here unsubscribes from its channel."""
        super().basic_leave_room(sid, namespace, room)
        if room not in self.rooms.get(namespace, ()):
            self.subscriptions.drop(self.names.room(namespace, room))

    async def enter_room(self, sid: str, namespace: str, room: Any,
                         eio_sid: str | None = None) -> None:
        """Enter a room, and return once this process hears the room's channel.

        So a client that entered, then fetched history, misses nothing published later.
        """
        await super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        if sid in self.rooms.get(namespace, {}).get(room, ()):
            await self.subscriptions.confirmed(self.names.room(namespace, room))

    # Sending.

    async def emit(self, event: str, data: Any, namespace: str | None = None,
                   room: Any = None, skip_sid: Any = None, callback: Any = None,
                   to: Any = None, **kwargs: Any) -> None:
        """Emit here at once and publish to the other processes hosting the room(s)."""
        room = to or room
        namespace = namespace or "/"
        if (callback is None and not kwargs.get("ignore_queue")
                and event not in self.internal_events
                and self.publish_now(event, data, namespace, room, skip_sid)):
            return
        await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                           callback=callback, **kwargs)

    def publish_now(self, event: str, data: Any, namespace: str, room: Any,
                    skip_sid: Any = None) -> bool:
        """Deliver to this process's members now, queue a frame for the others' channels.

        False (nothing done) when the packet has binary attachments.
        """
        encoded = self.encode_event(event, data, namespace)
        if encoded is None:
            return False
        self.deliver(EncodedPacket(encoded), namespace, room, skip_sid)
        rooms = self._remote_rooms(namespace, room)
        if rooms:
            # A sid of this process is nowhere else: only the others are worth sending.
            skip = [sid for sid in _as_list(skip_sid)
                    if sid is not None and not self.is_sid_room(namespace, sid)]
            frame = pack_frame(self._host, encoded, skip, rooms if len(rooms) > 1 else None)
            for target in rooms:
                self.outbox.put(self.names.room(namespace, target), frame)
        return True

    async def _publish(self, data: Any) -> None:
        """Queue one of python-socketio's messages on the channel(s) of what it concerns."""
        channels = self._channels_of(data)
        if channels:
            message = self.json.dumps(data).encode()
            for channel in channels:
                self.outbox.put(channel, message)

    def _channels_of(self, data: dict[str, Any]) -> list[bytes]:
        method, namespace = data.get("method"), data.get("namespace") or "/"
        if method == "emit":
            return [self.names.room(namespace, room)
                    for room in self._remote_rooms(namespace, data.get("room"))]
        if method == "close_room":
            return [self.names.room(namespace, data.get("room"))]
        if method in ("enter_room", "leave_room", "disconnect"):
            # The socket's own process is the one subscribed to its sid room.
            return [self.names.room(namespace, data.get("sid"))]
        if method == "callback":
            return [self.names.host(str(data.get("host_id")))]
        log.warning("not publishing an unknown pub/sub message %r", method)
        return []

    def _remote_rooms(self, namespace: str, room: Any) -> list[Any]:
        """The rooms of an emit that may have members elsewhere: all but this process's sids."""
        return [target for target in _as_list(room)
                if target is None or not self.is_sid_room(namespace, target)]

    # Receiving.

    async def _listen(self) -> AsyncIterator[Any]:
        """python-socketio's messages for its listener; frames are delivered here instead."""
        async for channel, data in self.subscriptions.messages():
            try:
                if is_frame(data):
                    self._receive_frame(channel, data)
                    continue
                message = self._receive_message(channel, data)
            except Exception as exc:
                # One bad message must not end the listener (nor its connection).
                log.error("could not handle a pub/sub message", extra=describe_error(exc))
                continue
            if message is not None:
                yield message

    def _receive_frame(self, channel: bytes, data: bytes) -> None:
        if frame_host(data) == self._host:
            _FROM_SELF.inc()  # delivered here when it was published
            return
        _FROM_OTHERS.inc()
        target = self.subscriptions.target(channel)
        if target is None:
            return
        namespace, room = target
        skip, rooms, packet = unpack_frame(data)
        if rooms is not None:
            skip += self._members(namespace, earlier_rooms(rooms, room))
        self.deliver(EncodedPacket(packet), namespace, room, skip or None)

    def _receive_message(self, channel: bytes, data: bytes) -> dict[str, Any] | None:
        message = self.json.loads(data)
        if not isinstance(message, dict):
            return None
        own = message.get("host_id") == self.host_id and message.get("method") != "callback"
        (_FROM_SELF if own else _FROM_OTHERS).inc()
        rooms = message.get("room")
        if message.get("method") == "emit" and isinstance(rooms, list):
            target = self.subscriptions.target(channel)
            if target is None:
                return None
            # The same message came on each room's channel: each socket takes it once, from
            # the first of its rooms in the list.
            skip = message.get("skip_sid")
            skip = list(skip) if isinstance(skip, list) else [] if skip is None else [skip]
            message["skip_sid"] = skip + self._members(target[0], earlier_rooms(rooms, target[1]))
            message["room"] = target[1]
        return message

    def _members(self, namespace: str, rooms: list[Any]) -> list[str]:
        return [sid for sid, _eio_sid in self.get_participants(namespace, rooms)] if rooms else []
