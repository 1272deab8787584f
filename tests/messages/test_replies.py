"""Replies: `replyToId` on `send_message`, the quote in the event, history and the log."""

from __future__ import annotations

import httpx

from chats.conftest import People, call, make_group
from pipechat.messages.views import REPLY_EXCERPT_LENGTH

from .test_actions import history, send


async def test_reply_carries_a_quote_then_a_tombstone(api: httpx.AsyncClient,
                                                      people: People) -> None:
    owner, member = await people(2)
    chat = await make_group(api, owner, member)
    await member.socket.call("enter_chat", {"chatIds": [chat["id"]]})
    long_text = "x" * (REPLY_EXCERPT_LENGTH + 50)
    original = await send(owner, chat["id"], long_text)
    await member.socket.next("receive_message")
    reply = await send(member, chat["id"], "answer", replyToId=original["id"],
                       clientMessageId="r-1")
    quote = reply["replyTo"]
    assert quote["id"] == original["id"] and quote["deletedAt"] is None
    assert quote["author"] == {"id": owner.id, "nickname": owner.account.nickname}
    assert len(quote["message"]) == REPLY_EXCERPT_LENGTH and quote["message"].endswith("…")
    # A re-send after a lost ack is the same message, with the same quote.
    again = await send(member, chat["id"], "answer", replyToId=original["id"],
                       clientMessageId="r-1")
    assert again["id"] == reply["id"] and again["replyTo"] == quote
    shown = await history(api, owner, chat["id"])
    assert shown[1]["replyTo"] == quote and shown[0]["replyTo"] is None
    assert (await owner.socket.call("delete_message", {"messageId": original["id"]}))[
        "status"] == "ok"
    shown = await history(api, owner, chat["id"])
    tombstone = shown[1]["replyTo"]
    assert tombstone["id"] == original["id"] and tombstone["message"] is None
    assert tombstone["deletedAt"] is not None
    log = (await call(api, "GET", f"/chats/{chat['id']}/changes", member)).json()["data"]
    assert log[2]["data"]["replyTo"] == tombstone
    # Replying to a deleted message is allowed: the quote is its tombstone.
    late = await send(owner, chat["id"], "late", replyToId=original["id"])
    assert late["replyTo"]["message"] is None


async def test_reply_to_a_message_of_another_chat_is_refused(api: httpx.AsyncClient,
                                                             people: People) -> None:
    owner, member, other = await people(3)
    chat = await make_group(api, owner, member)
    elsewhere = await make_group(api, owner, other)
    foreign = await send(owner, elsewhere["id"], "elsewhere")
    for reply_to in (foreign["id"], 10**9):
        ack = await member.socket.call("send_message", {"chatId": chat["id"], "message": "x",
                                                        "replyToId": reply_to})
        assert ack["status"] == "error" and ack["code"] == 145
    for reply_to in (0, "1", -5):
        ack = await member.socket.call("send_message", {"chatId": chat["id"], "message": "x",
                                                        "replyToId": reply_to})
        assert ack["code"] == 103
    assert await history(api, owner, chat["id"]) == []
