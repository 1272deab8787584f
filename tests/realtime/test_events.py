"""The seed's scenario and every event's success path, acks and codes."""

from __future__ import annotations

import pytest

from pipechat.chats.models import Chat
from pipechat.messages.models import Message
from realtime.conftest import Connect
from realtime.peers import make_chat
from support import Account, LiveServer, count_rows


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_seed_scenario_delivers_only_to_other_members_in_the_room(
        connect: Connect, accounts: list[Account], transport: str) -> None:
    user1, user2, user3 = [await connect(account, [transport]) for account in accounts]
    chat1 = await make_chat(user1, accounts[2].id)
    chat2 = await make_chat(user1, accounts[1].id)
    for peer, chat_ids in ((user1, [chat1, chat2]), (user2, [chat2]), (user3, [chat1])):
        ack = await peer.call("enter_chat", {"chatIds": chat_ids})
        assert ack == {"status": "ok", "data": {"chatIds": chat_ids}}

    first = await user1.call("send_message", {"chatId": chat1, "message": "to chat 1"})
    second = await user1.call("send_message", {"chatId": chat2, "message": "to chat 2"})
    assert first["status"] == second["status"] == "ok"
    assert await user3.next("receive_message") == first["data"]
    # The publisher emits in commit order, so had user 2 been sent the chat-1 message it
    # would have arrived before the chat-2 one.
    assert await user2.next("receive_message") == second["data"]
    assert first["data"]["author"] == {"id": accounts[0].id, "nickname": accounts[0].nickname}
    assert first["data"]["chatId"] == chat1 and first["data"]["message"] == "to chat 1"
    assert first["data"]["createdAt"].endswith("Z") and first["data"]["clientMessageId"] is None

    # The sender is in both rooms yet hears only others: user 3's reply is its first message.
    reply = await user3.call("send_message", {"chatId": chat1, "message": "reply"})
    assert await user1.next("receive_message") == reply["data"]
    assert user2.backlog("receive_message") == 0 and user3.backlog("receive_message") == 0

    # Without an ack callback, errors arrive on `exception` (the seed's code 100).
    await user1.emit("enter_chat", {"chatIds": [9999]})
    assert await user1.next("exception") == {
        "status": "error", "code": 100, "message": "chat 9999 does not exist"}


async def test_create_chat_tells_every_socket_of_every_member(
        connect: Connect, accounts: list[Account], server: LiveServer) -> None:
    creator, member, outsider = accounts
    creator_socket = await connect(creator)
    member_sockets = [await connect(member), await connect(member)]
    outsider_socket = await connect(outsider)
    ack = await creator_socket.call("create_chat", {"userIds": [member.id, member.id, creator.id]})
    assert ack["status"] == "ok"
    chat = ack["data"]
    assert [user["id"] for user in chat["users"]] == sorted([creator.id, member.id])
    assert set(chat["users"][0]) == {"id", "nickname", "role", "createdAt", "updatedAt",
                                     "chatRole", "lastReadMessageId", "online", "lastSeenAt"}
    assert {"id", "createdAt", "updatedAt", "users", "seq", "kind", "name"} <= set(chat)
    assert await creator_socket.next("chat_created") == chat
    for peer in member_sockets:
        assert await peer.next("chat_created") == chat
    # A later chat of the outsider arrives first: it was never told about the first one.
    own = await make_chat(outsider_socket, creator.id)
    assert own != chat["id"] and outsider_socket.backlog("chat_created") == 0


async def test_create_chat_with_unknown_users_creates_nothing(
        connect: Connect, accounts: list[Account], server: LiveServer) -> None:
    peer = await connect(accounts[0])
    ack = await peer.call("create_chat", {"userIds": [accounts[1].id, 4242, 4243]})
    assert ack["status"] == "error" and ack["code"] == 102 and "4242" in ack["message"]
    assert await count_rows(server, Chat) == 0
    # The failure was reported once, through the ack: the next notification is the next chat.
    created = await peer.call("create_chat", {"userIds": [accounts[1].id]})
    assert await peer.next("chat_created") == created["data"]
    assert await count_rows(server, Chat) == 1


async def test_create_chat_with_only_yourself_is_refused(
        connect: Connect, accounts: list[Account], server: LiveServer) -> None:
    peer = await connect(accounts[0])
    for user_ids in ([], [accounts[0].id]):
        ack = await peer.call("create_chat", {"userIds": user_ids})
        assert ack["status"] == "error" and ack["code"] == 103, ack
        assert ack["details"] == {"fields": ["userIds"]}
    await peer.emit("create_chat", {"userIds": []})
    assert (await peer.next("exception"))["code"] == 103
    assert await count_rows(server, Chat) == 0 and peer.backlog("chat_created") == 0


async def test_enter_chat_is_all_or_nothing(connect: Connect, accounts: list[Account]) -> None:
    owner, stranger, friend = [await connect(account) for account in accounts]
    chat = await make_chat(owner, accounts[2].id)
    other = await make_chat(stranger, accounts[2].id)
    missing = await stranger.call("enter_chat", {"chatIds": [other, 777]})
    assert missing == {"status": "error", "code": 100, "message": "chat 777 does not exist"}
    forbidden = await stranger.call("enter_chat", {"chatIds": [other, chat]})
    assert forbidden["code"] == 101 and str(chat) in forbidden["message"]
    await owner.call("enter_chat", {"chatIds": [chat]})
    to_chat = await owner.call("send_message", {"chatId": chat, "message": "private"})
    to_other = await friend.call("send_message", {"chatId": other, "message": "early"})
    assert to_chat["status"] == to_other["status"] == "ok"
    # Only a successful enter joins: the first message the stranger hears comes after it.
    assert (await stranger.call("enter_chat", {"chatIds": [other]}))["status"] == "ok"
    later = await friend.call("send_message", {"chatId": other, "message": "later"})
    assert await stranger.next("receive_message") == later["data"]


async def test_stranger_cannot_send_and_nothing_is_stored(
        connect: Connect, accounts: list[Account], server: LiveServer) -> None:
    owner, stranger, _ = [await connect(account) for account in accounts]
    chat = await make_chat(owner, accounts[2].id)
    ack = await stranger.call("send_message", {"chatId": chat, "message": "let me in"})
    assert ack["code"] == 101
    ack = await stranger.call("send_message", {"chatId": 555, "message": "anyone?"})
    assert ack["code"] == 100
    assert await count_rows(server, Message) == 0


async def test_leave_chat_stops_delivery_but_keeps_membership(
        connect: Connect, accounts: list[Account]) -> None:
    alice, bob, _ = [await connect(account) for account in accounts]
    chat = await make_chat(alice, accounts[1].id)
    await bob.next("chat_created")
    await bob.call("enter_chat", {"chatIds": [chat]})
    left = await bob.call("leave_chat", {"chatIds": [chat, chat]})
    assert left == {"status": "ok", "data": {"chatIds": [chat]}}
    unheard = await alice.call("send_message", {"chatId": chat, "message": "gone?"})
    # Still a member: bob can send, and re-enter to hear the next message only.
    assert (await bob.call("send_message", {"chatId": chat, "message": "here"}))["status"] == "ok"
    await bob.call("enter_chat", {"chatIds": [chat]})
    heard = await alice.call("send_message", {"chatId": chat, "message": "welcome back"})
    assert await bob.next("receive_message") == heard["data"]
    assert heard["data"]["id"] > unheard["data"]["id"]


async def test_resend_with_client_message_id_is_idempotent(
        connect: Connect, accounts: list[Account], server: LiveServer) -> None:
    alice, bob, _ = [await connect(account) for account in accounts]
    chat = await make_chat(alice, accounts[1].id)
    await bob.call("enter_chat", {"chatIds": [chat]})
    payload = {"chatId": chat, "message": "once", "clientMessageId": "c-1"}
    first = await alice.call("send_message", payload)
    again = await alice.call("send_message", payload)
    assert first == again and first["data"]["clientMessageId"] == "c-1"
    # Another author may use the same id: keys are per author.
    bobs = await bob.call("send_message", {**payload, "message": "bob's"})
    assert bobs["data"]["id"] != first["data"]["id"]
    marker = await alice.call("send_message", {"chatId": chat, "message": "after"})
    assert await bob.next("receive_message") == first["data"]
    assert await bob.next("receive_message") == marker["data"]
    assert await count_rows(server, Message) == 3


async def test_pipelined_sends_keep_their_order(connect: Connect,
                                                accounts: list[Account]) -> None:
    alice, bob, _ = [await connect(account) for account in accounts]
    chat = await make_chat(alice, accounts[1].id)
    await bob.call("enter_chat", {"chatIds": [chat]})
    acks: list[dict[str, object]] = []
    count = 40
    for n in range(count):
        # Emitted back to back without waiting: the server runs each in its own task.
        await alice.client.emit("send_message", {"chatId": chat, "message": f"m{n}"},
                                namespace="/chats", callback=lambda ack: acks.append(ack))
    received = [await bob.next("receive_message") for _ in range(count)]
    assert [message["message"] for message in received] == [f"m{n}" for n in range(count)]
    ids = [message["id"] for message in received]
    assert ids == sorted(ids)
    marker = await alice.call("send_message", {"chatId": chat, "message": "end"})
    assert marker["status"] == "ok"
    assert [ack["data"] for ack in acks] == received  # type: ignore[index]


async def test_each_failure_is_reported_exactly_once(connect: Connect,
                                                     accounts: list[Account]) -> None:
    peer = await connect(accounts[0])
    with_ack = await peer.call("enter_chat", {"chatIds": [404]})
    assert with_ack["code"] == 100
    await peer.emit("send_message", {"chatId": 405, "message": "x"})
    # Had the acked failure also gone to `exception`, it would be first in line.
    assert (await peer.next("exception"))["message"] == "chat 405 does not exist"
    assert (await peer.call("create_chat", {"userIds": [accounts[1].id]}))["status"] == "ok"
    assert peer.backlog("exception") == 0
