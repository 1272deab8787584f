"""Editing and deleting messages, over the socket and REST; events to every member."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, text

from chats.conftest import People, Person, call, make_group
from pipechat.changes.models import ChatChange
from pipechat.messages.models import Message
from support import LiveServer, count_rows


async def send(person: Person, chat_id: int, message: str, **extra: Any) -> dict[str, Any]:
    ack = await person.socket.call("send_message",
                                   {"chatId": chat_id, "message": message, **extra})
    assert ack["status"] == "ok", ack
    data: dict[str, Any] = ack["data"]
    return data


async def history(api: httpx.AsyncClient, person: Person, chat_id: int) -> list[dict[str, Any]]:
    response = await call(api, "GET", f"/chats/{chat_id}/messages?take=100", person)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_new_messages_carry_the_new_fields(api: httpx.AsyncClient,
                                                 people: People) -> None:
    owner, member = await people(2)
    chat = await make_group(api, owner, member)
    await member.socket.call("enter_chat", {"chatIds": [chat["id"]]})
    sent = await send(owner, chat["id"], "hello")
    assert sent["editedAt"] is None and sent["deletedAt"] is None
    assert sent["replyTo"] is None and sent["reactions"] == []
    assert await member.socket.next("receive_message") == sent
    [shown] = await history(api, owner, chat["id"])
    assert shown["reactions"] == [] and shown["editedAt"] is None and shown["replyTo"] is None


async def test_author_edits_over_socket_and_rest(api: httpx.AsyncClient, people: People,
                                                 server: LiveServer) -> None:
    owner, member = await people(2)
    chat = await make_group(api, owner, member)
    sent = await send(member, chat["id"], "helo")
    ack = await member.socket.call("edit_message", {"messageId": sent["id"], "message": "hello"})
    assert ack["status"] == "ok"
    edited = ack["data"]
    assert edited["message"] == "hello" and edited["editedAt"] is not None
    assert edited["id"] == sent["id"] and edited["createdAt"] == sent["createdAt"]
    for person in (owner, member):
        event = await person.socket.next("message_updated")
        assert event["chatId"] == chat["id"] and event["by"] == member.id
        assert event["seq"] == sent["seq"] + 1
        assert event["message"]["message"] == "hello" and "reactions" not in event["message"]
    # The same text again (a retry after a lost ack) changes nothing.
    again = await member.socket.call("edit_message", {"messageId": sent["id"],
                                                      "message": "hello"})
    assert again["status"] == "ok" and again["data"]["editedAt"] == edited["editedAt"]
    url = f"/chats/{chat['id']}/messages/{sent['id']}"
    rest = await call(api, "PATCH", url, member, {"message": "hello!"})
    assert rest.status_code == 200 and rest.json()["message"] == "hello!"
    for person in (owner, member):
        assert (await person.socket.next("message_updated"))["seq"] == sent["seq"] + 2
    assert member.socket.backlog("message_updated") == 0
    [shown] = await history(api, owner, chat["id"])
    assert shown["message"] == "hello!" and shown["editedAt"] == rest.json()["editedAt"]
    async with server.context.db.read() as session:
        kinds = list(await session.scalars(select(ChatChange.kind).where(
            ChatChange.chat_id == chat["id"]).order_by(ChatChange.seq)))
    assert kinds == ["chat_created", "message", "message_updated", "message_updated"]


async def test_edit_refusals_change_nothing(api: httpx.AsyncClient, people: People,
                                            server: LiveServer) -> None:
    owner, member, stranger = await people(3)
    chat = await make_group(api, owner, member)
    sent = await send(member, chat["id"], "mine")
    url = f"/chats/{chat['id']}/messages/{sent['id']}"
    cases: list[tuple[Person, dict[str, Any], int]] = [
        (owner, {"messageId": sent["id"], "message": "theirs"}, 161),  # not the author
        (stranger, {"messageId": sent["id"], "message": "x"}, 145),  # not in the chat
        (member, {"messageId": 10**9, "message": "x"}, 145),
        (member, {"messageId": sent["id"], "message": "   "}, 103),
        (member, {"messageId": sent["id"], "message": "x" * 2001}, 104),
        (member, {"messageId": sent["id"], "message": "a\x00b"}, 103),
        (member, {"messageId": sent["id"]}, 103),
        (member, {"messageId": "1", "message": "x"}, 103),
        (member, {"messageId": sent["id"], "message": "x", "chatId": 1}, 103),
    ]
    for person, payload, code in cases:
        ack = await person.socket.call("edit_message", payload)
        assert ack["status"] == "error" and ack["code"] == code, (payload, ack)
    refused = await call(api, "PATCH", url, owner, {"message": "theirs"})
    assert refused.status_code == 403 and refused.json()["code"] == 161
    other = await make_group(api, owner, stranger)
    wrong_chat = await call(api, "PATCH", f"/chats/{other['id']}/messages/{sent['id']}", owner,
                            {"message": "x"})
    assert wrong_chat.status_code == 404 and wrong_chat.json()["code"] == 145
    not_member = await call(api, "PATCH", url, stranger, {"message": "x"})
    assert not_member.status_code == 403 and not_member.json()["code"] == 101
    [shown] = await history(api, owner, chat["id"])
    assert shown["message"] == "mine" and shown["editedAt"] is None
    assert await count_rows(server, ChatChange) == 3  # two creations and the message
    assert owner.socket.backlog("message_updated") == 0


async def test_deletion_leaves_a_tombstone_without_the_text(api: httpx.AsyncClient,
                                                            people: People,
                                                            server: LiveServer) -> None:
    owner, member = await people(2)
    chat = await make_group(api, owner, member)
    first = await send(member, chat["id"], "secret text")
    second = await send(member, chat["id"], "after")
    await owner.socket.call("add_reaction", {"messageId": first["id"], "emoji": "👍"})
    for person in (owner, member):
        await person.socket.next("reaction_added")
    ack = await member.socket.call("delete_message", {"messageId": first["id"]})
    assert ack["status"] == "ok"
    deleted = ack["data"]
    assert deleted["chatId"] == chat["id"] and deleted["messageId"] == first["id"]
    assert deleted["by"] == member.id and deleted["seq"] == second["seq"] + 2
    for person in (owner, member):
        assert await person.socket.next("message_deleted") == deleted
    again = await member.socket.call("delete_message", {"messageId": first["id"]})
    assert again["status"] == "ok" and again["data"]["by"] is None
    assert again["data"]["deletedAt"] == deleted["deletedAt"]
    shown = await history(api, owner, chat["id"])
    assert [(m["id"], m["message"], m["reactions"]) for m in shown] == [
        (first["id"], None, []), (second["id"], "after", [])]
    assert shown[0]["deletedAt"] == deleted["deletedAt"]
    # Erased, not hidden: no row and no change payload holds the text any more.
    async with server.context.db.read() as session:
        stored = await session.scalar(select(Message.message).where(Message.id == first["id"]))
        payloads = [str(p) for p in await session.scalars(select(ChatChange.payload))]
        raw = await session.scalar(text(
            "SELECT count(*) FROM messages WHERE message LIKE '%secret%'"))
    assert stored == "" and raw == 0
    assert not any("secret" in p for p in payloads)
    refused = await member.socket.call("edit_message", {"messageId": first["id"],
                                                        "message": "back"})
    assert refused["code"] == 160
    refused = await owner.socket.call("add_reaction", {"messageId": first["id"], "emoji": "👍"})
    assert refused["code"] == 160
    change = await call(api, "GET", f"/chats/{chat['id']}/changes", owner)
    log = change.json()["data"]
    assert log[1]["kind"] == "message" and log[1]["data"]["message"] is None
    assert log[-1]["kind"] == "message_deleted"
    assert log[-1]["data"] == {"messageId": first["id"], "deletedAt": shown[0]["deletedAt"]}


async def test_who_may_delete(api: httpx.AsyncClient, people: People) -> None:
    owner, admin, member, other = await people(4)
    group = await make_group(api, owner, admin, member, other)
    gid = group["id"]
    assert (await call(api, "PATCH", f"/chats/{gid}/members/{admin.id}", owner,
                       {"role": "admin"})).status_code == 200
    by_member = await send(member, gid, "m")
    by_owner = await send(owner, gid, "o")
    refused = await other.socket.call("delete_message", {"messageId": by_member["id"]})
    assert refused["code"] == 161
    rest = await call(api, "DELETE", f"/chats/{gid}/messages/{by_member['id']}", admin)
    assert rest.status_code == 200 and rest.json()["by"] == admin.id
    by_admin = await call(api, "DELETE", f"/chats/{gid}/messages/{by_owner['id']}", admin)
    assert by_admin.status_code == 200  # admins delete any message of the group
    direct = await api.post("/chats", json={"kind": "direct", "userIds": [member.id]},
                            headers=owner.account.bearer)
    dm = direct.json()["id"]
    theirs = await send(member, dm, "dm")
    no = await call(api, "DELETE", f"/chats/{dm}/messages/{theirs['id']}", owner)
    assert no.status_code == 403 and no.json()["code"] == 161
    missing = await call(api, "DELETE", f"/chats/{dm}/messages/{10**9}", owner)
    assert missing.status_code == 404 and missing.json()["code"] == 145
