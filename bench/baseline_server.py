"""The reference point of `bench/run.py --baseline`: python-socketio + uvicorn at defaults.

It speaks the part of pipechat's protocol the benchmark uses (namespace `/chats`, `create_chat`,
`enter_chat`, `leave_chat`, `send_message` with acks, `receive_message` to the room without the
sender) with no database and no checks: any token is accepted, ids come from counters. Only the
log level is changed from uvicorn's defaults, so the console stays readable.

Run: `python bench/baseline_server.py --port 8001`.
"""

from __future__ import annotations

import argparse
import itertools
from datetime import UTC, datetime
from typing import Any

import socketio
import uvicorn

NAMESPACE = "/chats"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def build_app() -> socketio.ASGIApp:
    """The Socket.IO server with protocol-shaped handlers and no storage."""
    sio = socketio.AsyncServer(async_mode="asgi")
    users: dict[str, int] = {}
    chat_ids = itertools.count(1)
    message_ids = itertools.count(1)

    @sio.on("connect", namespace=NAMESPACE)
    async def connect(sid: str, _environ: dict[str, Any], auth: Any) -> None:
        token = str((auth or {}).get("token", ""))
        # Tokens are "baseline-<user id>" here; anything else is user 0.
        user_id = int(token.rsplit("-", 1)[-1]) if token.rsplit("-", 1)[-1].isdigit() else 0
        users[sid] = user_id
        await sio.enter_room(sid, f"user:{user_id}", namespace=NAMESPACE)

    @sio.on("disconnect", namespace=NAMESPACE)
    async def disconnect(sid: str, *_args: Any) -> None:
        users.pop(sid, None)

    @sio.on("create_chat", namespace=NAMESPACE)
    async def create_chat(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        member_ids = sorted({users[sid], *data.get("userIds", [])})
        now = _now()
        chat = {"id": next(chat_ids), "createdAt": now, "updatedAt": now,
                "users": [{"id": uid, "nickname": f"user{uid}"} for uid in member_ids]}
        for uid in member_ids:
            await sio.emit("chat_created", chat, room=f"user:{uid}", namespace=NAMESPACE)
        return {"status": "ok", "data": chat}

    @sio.on("enter_chat", namespace=NAMESPACE)
    async def enter_chat(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        for chat_id in data.get("chatIds", []):
            await sio.enter_room(sid, str(chat_id), namespace=NAMESPACE)
        return {"status": "ok", "data": {"chatIds": data.get("chatIds", [])}}

    @sio.on("leave_chat", namespace=NAMESPACE)
    async def leave_chat(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        for chat_id in data.get("chatIds", []):
            await sio.leave_room(sid, str(chat_id), namespace=NAMESPACE)
        return {"status": "ok", "data": {"chatIds": data.get("chatIds", [])}}

    @sio.on("send_message", namespace=NAMESPACE)
    async def send_message(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        user_id = users[sid]
        message = {"id": next(message_ids), "chatId": data["chatId"], "message": data["message"],
                   "clientMessageId": data.get("clientMessageId"),
                   "author": {"id": user_id, "nickname": f"user{user_id}"}, "createdAt": _now()}
        await sio.emit("receive_message", message, room=str(data["chatId"]), skip_sid=sid,
                       namespace=NAMESPACE)
        return {"status": "ok", "data": message}

    return socketio.ASGIApp(sio)


def main() -> None:
    """Serve on the given port until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(build_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
