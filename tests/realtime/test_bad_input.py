"""Every kind of bad input: a clear error, nothing stored, the connection still usable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pipechat.chats.models import Chat
from pipechat.messages.models import Message
from realtime.conftest import Connect
from realtime.peers import Peer, make_chat
from support import Account, LiveServer, count_rows, live_server, make_settings, register

CHAT = -1  # stands for the id of the test's chat

# (event, payload args, expected code, text the message must contain)
BAD_SENDS: list[tuple[Any, ...]] = [
    ({"chatId": str(CHAT), "message": "x"}, 103, "chatId"),
    ({"chatId": 1.0, "message": "x"}, 103, "chatId"),
    ({"chatId": 1.5, "message": "x"}, 103, "chatId"),
    ({"chatId": True, "message": "x"}, 103, "chatId"),
    ({"chatId": 0, "message": "x"}, 103, "chatId"),
    ({"chatId": 2**70, "message": "x"}, 103, "chatId"),
    ({"message": "x"}, 103, "chatId"),
    ({"chatId": CHAT}, 103, "message"),
    ({"chatId": CHAT, "message": "x", "authorId": 2}, 103, "authorId"),
    ({"chatId": CHAT, "message": 5}, 103, "message"),
    ({"chatId": CHAT, "message": ""}, 103, "message"),
    ({"chatId": CHAT, "message": " \n\t "}, 103, "message"),
    ({"chatId": CHAT, "message": "x" * 2001}, 104, "2000"),
    ({"chatId": CHAT, "message": "x", "clientMessageId": "a b"}, 103, "clientMessageId"),
    ({"chatId": CHAT, "message": "x", "clientMessageId": "a" * 65}, 103, "clientMessageId"),
    ({"chatId": CHAT, "message": "x", "clientMessageId": 7}, 103, "clientMessageId"),
    ({"chatId": CHAT, "message": b"binary"}, 103, "binary"),
    ("just text", 103, "JSON object"),
    ([CHAT, "x"], 103, "JSON object"),
    (42, 103, "JSON object"),
    (None, 103, "JSON object"),
]

BAD_CHAT_CALLS: list[tuple[Any, ...]] = [
    ("enter_chat", {"chatIds": []}, 103, "chatIds"),
    ("enter_chat", {"chatIds": list(range(1, 102))}, 103, "chatIds"),
    ("enter_chat", {"chatIds": list(range(1, 5_001))}, 103, "chatIds"),
    ("enter_chat", {"chatIds": str(CHAT)}, 103, "chatIds"),
    ("enter_chat", {"chatIds": [CHAT, "2"]}, 103, "chatIds"),
    ("enter_chat", {"chatIds": [1.0]}, 103, "chatIds"),
    ("enter_chat", {}, 103, "chatIds"),
    ("enter_chat", {"chatIds": [CHAT], "force": True}, 103, "force"),
    ("leave_chat", {"chatIds": [None]}, 103, "chatIds"),
    ("create_chat", {"userIds": [2] * 101}, 103, "userIds"),
    ("create_chat", {"userIds": ["2"]}, 103, "userIds"),
    ("create_chat", {"userIds": None}, 103, "userIds"),
    ("create_chat", {"users": []}, 103, "userIds"),
    ("create_chat", [1, 2], 103, "JSON object"),
    ("no_such_event", {"chatId": 1}, 106, "no_such_event"),
    ("receive_message", {"chatId": 1}, 106, "receive_message"),
]


def with_chat(value: Any, chat: int) -> Any:
    """`value` with the CHAT placeholder replaced by the real chat id."""
    if value == CHAT and not isinstance(value, bool):
        return chat
    if value == str(CHAT):
        return str(chat)
    if isinstance(value, dict):
        return {key: with_chat(item, chat) for key, item in value.items()}
    if isinstance(value, list):
        return [with_chat(item, chat) for item in value]
    return value


async def assert_usable(peer: Peer, chat: int) -> dict[str, Any]:
    """The socket still works: a good message goes through."""
    ack = await peer.call("send_message", {"chatId": chat, "message": "still here"})
    assert ack["status"] == "ok", ack
    return dict(ack["data"])


async def test_bad_payloads_are_refused_with_the_right_code(
        connect: Connect, accounts: list[Account], server: LiveServer) -> None:
    peer = await connect(accounts[0])
    chat = await make_chat(peer, accounts[1].id)
    for payload, code, hint in BAD_SENDS:
        ack = await peer.call("send_message", with_chat(payload, chat))
        case = f"send_message {str(payload)[:60]!r}"
        assert ack["status"] == "error" and ack["code"] == code, (case, ack)
        assert hint in ack["message"], (case, ack)
    for event, payload, code, hint in BAD_CHAT_CALLS:
        ack = await peer.call(event, with_chat(payload, chat))
        case = f"{event} {str(payload)[:60]!r}"
        assert ack["status"] == "error" and ack["code"] == code, (case, ack)
        assert hint in ack["message"], (case, ack)
    assert await count_rows(server, Message) == 0 and await count_rows(server, Chat) == 1
    await assert_usable(peer, chat)
    assert peer.backlog("exception") == 0


async def test_bad_input_without_ack_goes_to_exception(
        connect: Connect, accounts: list[Account], server: LiveServer) -> None:
    peer = await connect(accounts[0])
    chat = await make_chat(peer, accounts[1].id)
    await peer.emit("send_message", {"chatId": str(chat), "message": "x"})
    await peer.emit("send_message", {"chatId": chat, "message": "x", "authorId": 99})
    await peer.emit("send_message", {"chatId": chat, "message": b"\x00\x01"})
    await peer.emit("send_message", {"chatId": chat, "message": "x"}, "second argument")
    await peer.emit("send_message")
    await peer.emit("whatever", [1, 2, 3])
    codes = [(await peer.next("exception"))["code"] for _ in range(6)]
    assert codes == [103, 103, 103, 103, 103, 106]
    extra = await peer.call("send_message", {"chatId": chat, "message": "x", "authorId": 99})
    assert "authorId" in extra["message"] and extra["details"] == {"fields": ["authorId"]}
    assert await count_rows(server, Message) == 0
    saved = await assert_usable(peer, chat)
    assert saved["author"]["id"] == accounts[0].id


async def test_longest_allowed_message_is_stored(connect: Connect, accounts: list[Account],
                                                 server: LiveServer) -> None:
    peer = await connect(accounts[0])
    chat = await make_chat(peer, accounts[1].id)
    ack = await peer.call("send_message", {"chatId": chat, "message": "é" * 2000})
    assert ack["status"] == "ok" and len(ack["data"]["message"]) == 2000
    assert await count_rows(server, Message) == 1


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_oversized_packet_is_cut_at_the_transport(
        connect: Connect, accounts: list[Account], server: LiveServer, transport: str) -> None:
    peer = await connect(accounts[0], [transport])
    chat = await make_chat(peer, accounts[1].id)
    await peer.emit("send_message", {"chatId": chat, "message": "x" * 70_000})
    await peer.next("disconnect")
    assert await count_rows(server, Message) == 0
    fresh = await connect(accounts[0])
    await assert_usable(fresh, chat)


async def test_rate_limit_refuses_without_dropping_the_connection(
        database_url: str, tmp_path: Path) -> None:
    # One token per 1000 s: nothing refills during the test, whatever the machine's speed.
    settings = make_settings(database_url, tmp_path, rate_limit_burst=4,
                             rate_limit_per_second=0.001)
    async with live_server(settings) as server:
        async with httpx.AsyncClient(base_url=server.url) as api:
            account, friend = await register(api), await register(api)
        peer = await Peer().connect(server.url, account.access_token)
        other = await Peer().connect(server.url, account.access_token)
        try:
            chat = await make_chat(peer, friend.id)
            for n in range(3):
                ack = await peer.call("send_message", {"chatId": chat, "message": f"m{n}"})
                assert ack["status"] == "ok"
            limited = await peer.call("send_message", {"chatId": chat, "message": "too many"})
            assert limited["status"] == "error" and limited["code"] == 105
            await peer.emit("enter_chat", {"chatIds": [chat]})
            assert (await peer.next("exception"))["code"] == 105
            assert peer.client.connected and await count_rows(server, Message) == 3
            # The bucket is per connection: another socket of the same user is unaffected.
            assert (await other.call("send_message", {"chatId": chat, "message": "ok"}))[
                "status"] == "ok"
        finally:
            await peer.close()
            await other.close()
