"""The Socket.IO server and its `/chats` namespace."""

from __future__ import annotations

import socketio

from pipechat.context import AppContext


def build_gateway(context: AppContext) -> socketio.AsyncServer:
    """A Socket.IO server for this process; handlers live in the `/chats` namespace."""
    settings = context.settings
    server = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=settings.cors_origins or [],
        max_http_buffer_size=settings.max_payload_bytes,
    )
    return server
