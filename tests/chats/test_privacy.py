"""No route or event shows a user's email to anyone but that user (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import httpx

from realtime.peers import Peer
from support import LiveServer, create_chat, register

PUBLIC_PROFILE = {"id", "nickname", "role", "createdAt", "updatedAt"}
# What a member is in the chat, beside their profile (presence: every member shares the chat).
MEMBERSHIP = {"chatRole", "lastReadMessageId", "online", "lastSeenAt"}


def assert_public(chat: dict[str, Any]) -> None:
    """Every member of `chat` is shown by public profile only."""
    assert chat["users"], chat
    for user in chat["users"]:
        assert set(user) == PUBLIC_PROFILE | MEMBERSHIP, user


async def test_members_never_see_each_others_email(api: httpx.AsyncClient,
                                                   server: LiveServer) -> None:
    harvester, victim, other = await register(api), await register(api), await register(api)
    victim_socket = Peer()
    await victim_socket.connect(server.url, victim.access_token)
    harvester_socket = Peer()
    await harvester_socket.connect(server.url, harvester.access_token)
    try:
        # REST: creating, listing and reading a chat that names the victim.
        created = await create_chat(api, harvester, victim)
        listed = (await api.get("/chats", headers=harvester.bearer)).json()["data"]
        read = (await api.get(f"/chats/{created['id']}", headers=harvester.bearer)).json()
        # Socket: `create_chat`'s ack, and `chat_created` on every member's sockets.
        ack = await harvester_socket.call("create_chat", {"userIds": [victim.id, other.id]})
        assert ack["status"] == "ok", ack
        told = [await victim_socket.next("chat_created") for _ in range(2)]
        told.append(await harvester_socket.next("chat_created"))
        for chat in [created, *listed, read, ack["data"], *told]:
            assert_public(chat)
        # Only the owner of an email is shown it.
        me = (await api.get("/users/me", headers=victim.bearer)).json()
        assert me["email"] == victim.email and set(me) == PUBLIC_PROFILE | {"email"}
    finally:
        await victim_socket.close()
        await harvester_socket.close()
