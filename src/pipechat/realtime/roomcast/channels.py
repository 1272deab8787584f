"""Channel names, and the frame a room broadcast travels in between processes."""

from __future__ import annotations

from typing import Any

import orjson

# First byte of a frame; python-socketio's own messages (JSON objects) start with `{`.
FRAME_MARK = b"\x00"
HOST_ID_LENGTH = 32  # python-socketio's host id: uuid4().hex
_HEADER_AT = 1 + HOST_ID_LENGTH


class ChannelNames:
    """`<prefix>:<namespace>:<room>` per room, `<prefix>:<namespace>` for a whole namespace.

    A process's own channel, `<prefix>:host:<host id>`, carries what is addressed to it alone
    (acks of emits with a callback); namespaces start with `/`, so it never clashes with a room.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def room(self, namespace: str, room: Any) -> bytes:
        """The channel of `room` (None: every socket of the namespace)."""
        if room is None:
            return f"{self.prefix}:{namespace}".encode()
        return f"{self.prefix}:{namespace}:{room}".encode()

    def host(self, host_id: str) -> bytes:
        """The channel only the process with this host id subscribes to."""
        return f"{self.prefix}:host:{host_id}".encode()


def pack_frame(host: bytes, packet: str, skip: list[str], rooms: list[Any] | None) -> bytes:
    """A pre-encoded Socket.IO packet with who sent it and whom it is not for.

    `<mark><host id><header>\\n<packet>`: the header (JSON `[skip, rooms]`) is empty in the
    common case, a single room with no sid to skip elsewhere; `rooms` is the whole list when
    one emit went to several rooms (a receiver delivers each socket once: `earlier_rooms`).
    """
    header = orjson.dumps([skip, rooms]) if skip or rooms else b""
    return b"".join((FRAME_MARK, host, header, b"\n", packet.encode()))


def is_frame(data: bytes) -> bool:
    """True for a frame, False for one of python-socketio's JSON messages."""
    return data[:1] == FRAME_MARK


def frame_host(data: bytes) -> bytes:
    """The host id of the process that published the frame."""
    return data[1:_HEADER_AT]


def unpack_frame(data: bytes) -> tuple[list[str], list[Any] | None, str]:
    """The sids to skip, the rooms of the emit (None: just this channel's) and the packet."""
    end = data.index(b"\n", _HEADER_AT)
    packet = data[end + 1:].decode()
    if end == _HEADER_AT:
        return [], None, packet
    skip, rooms = orjson.loads(data[_HEADER_AT:end])
    return skip, rooms, packet


def earlier_rooms(rooms: list[Any], room: Any) -> list[Any]:
    """The rooms before `room` in an emit's list: their members got the copy of their room."""
    try:
        return rooms[:rooms.index(room)]
    except ValueError:
        return []
