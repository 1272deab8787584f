"""The third-party internals pipechat overrides, and whether the installed versions match.

A subclass that replaces or wraps a private method was written against one version of that
method. Each is listed here with the sha256 of its source in the locked version; at start the
server logs a WARNING for every one that differs (an upgrade outside `requirements.lock`), and
`tests/test_dependencies.py` fails on it, so an upgrade is a decision, never an accident.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from typing import Any

import socketio
from socketio.async_pubsub_manager import AsyncPubSubManager
from socketio.base_manager import BaseManager
from websockets.protocol import Protocol as WebSocketProtocol
from websockets.server import ServerProtocol as WebSocketServerProtocol

log = logging.getLogger("pipechat.realtime")

# Overridden by realtime/gateway.py's ChatServer and realtime/broadcast.py's BroadcastManager,
# as in python-socketio 5.18.1 (and, below, by realtime/roomcast/).
OVERRIDDEN: dict[str, tuple[Any, str]] = {
    "socketio.AsyncServer._handle_event_internal": (
        socketio.AsyncServer._handle_event_internal,
        "472e8b723a12d507ce3ee3eb8e1643cd326bdd9cc669392e6a636ec7aafdb366"),
    "socketio.AsyncServer._handle_connect": (
        socketio.AsyncServer._handle_connect,
        "c97c480cf777de36bd6348c6335ac61b324e6ed16372660100d10223faf79a74"),
    "socketio.AsyncServer._handle_eio_connect": (
        socketio.AsyncServer._handle_eio_connect,
        "76704886d944a7e648d24c37acb921c9866a58a6c1086f2cd9917ec0386e3517"),
    "socketio.AsyncServer._handle_eio_disconnect": (
        socketio.AsyncServer._handle_eio_disconnect,
        "9344593148b66fd9b4e7614e7a1427f641c74c8cbf1d85263c0ca70d8bfeace5"),
    "socketio.AsyncManager.emit": (
        socketio.AsyncManager.emit,
        "01ccd5b82b4f955e4f2e4d07b5fbf09cacef868e9f61bc2abe56d92118a5f3ac"),
    # realtime/roomcast/manager.py's RoomcastManager subclasses the whole class: it overrides
    # emit, enter_room, initialize, _publish and _listen, and relies on the message shapes
    # and the listener (`_thread`) of the rest.
    "socketio.async_pubsub_manager.AsyncPubSubManager": (
        AsyncPubSubManager,
        "dd9305fb0fa96d9983b602b21b88fc9e06bd58ffe91f858f015187546eef66e2"),
    # Wrapped by RoomcastManager to follow room membership; the three after them must keep
    # adding and removing members only through them.
    "socketio.base_manager.BaseManager.basic_enter_room": (
        BaseManager.basic_enter_room,
        "3f509586d2d7f47ec92cc5113a80f5302ca1d82fb3689ee530edd3aa9ad6a1a3"),
    "socketio.base_manager.BaseManager.basic_leave_room": (
        BaseManager.basic_leave_room,
        "e27f3eea06d1c6a6ea295e99f62477330af4779e1f1853753e94f309ef0e74f2"),
    "socketio.base_manager.BaseManager.pre_connect": (
        BaseManager.pre_connect,
        "bfdba4c0c8f1bd8ac98edee1b3aece8c820a0a9d0528776c36db5cea1724d01a"),
    "socketio.base_manager.BaseManager.basic_disconnect": (
        BaseManager.basic_disconnect,
        "2933b50bc4b2ea7b4367a84e05c2e22c52fed98b00afc3b88d06d61ab9fb9aa1"),
    "socketio.base_manager.BaseManager.basic_close_room": (
        BaseManager.basic_close_room,
        "1d81a80fe1cac5a575e1017a1fffb40d8b0e9febc02e112b25d7e76a2caaa62e"),
    # realtime/uvicorn_ws.py swaps the handshake parser for the frame parser it ends in, as in
    # websockets 17.4 (the uvicorn protocol itself is fingerprinted there).
    "websockets.server.ServerProtocol.parse": (
        WebSocketServerProtocol.parse,
        "8c4d10340de4d32f573bd1c7c0e0b40374579dda3173abd82aedf3f6ffa07ea4"),
    "websockets.protocol.Protocol.parse": (
        WebSocketProtocol.parse,
        "45aaf900644b63c46eee7cd7e28c53182cf53acac614aa93ed5a6a090fe95cc0"),
}


def source_sha256(code: Any) -> str:
    """The sha256 of `code`'s source, or "" when the source cannot be read."""
    try:
        source = inspect.getsource(code)
    except (OSError, TypeError):
        return ""
    return hashlib.sha256(source.encode()).hexdigest()


def changed_internals() -> list[str]:
    """The names in `OVERRIDDEN` whose installed source is not the known one."""
    return [name for name, (code, known) in OVERRIDDEN.items() if source_sha256(code) != known]


def warn_about_changed_internals() -> None:
    """Log one WARNING per overridden internal that differs from the locked version."""
    for name in changed_internals():
        log.warning("%s is not the version pipechat was written against; its override may "
                    "misbehave (install requirements.lock)", name)
