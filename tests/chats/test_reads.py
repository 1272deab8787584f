"""Read markers: forward only, `read` to the other members and to the reader's other sockets."""

from __future__ import annotations

import asyncio

import httpx

from realtime.peers import Peer
from support import LiveServer

from .conftest import People, call, make_group


async def test_read_markers_move_forward_and_are_told(api: httpx.AsyncClient, people: People,
                                                      server: LiveServer) -> None:
    alice, bob, carol = await people(3)
    chat = await make_group(api, alice, bob, carol)
    other = await make_group(api, alice, bob, name="Other")
    sent = [await bob.socket.call("send_message", {"chatId": chat["id"], "message": f"m{i}"})
            for i in range(3)]
    ids = [ack["data"]["id"] for ack in sent]
    alice_tab = await Peer().connect(server.url, alice.account.access_token)
    try:
        ack = await alice.socket.call("mark_read", {"chatId": chat["id"], "messageId": ids[1]})
        marker = {"chatId": chat["id"], "userId": alice.id, "lastReadMessageId": ids[1],
                  "seq": 4}
        assert ack == {"status": "ok", "data": marker}
        for socket in (bob.socket, carol.socket, alice_tab):
            assert await socket.next("read") == marker
        # Backwards or again: nothing changes, nobody is told.
        for message_id in (ids[0], ids[1]):
            again = await call(api, "POST", f"/chats/{chat['id']}/read", alice,
                               {"messageId": message_id})
            assert again.status_code == 200 and again.json() == marker
        later = await call(api, "POST", f"/chats/{chat['id']}/read", alice,
                           {"messageId": ids[2]})
        assert later.json()["lastReadMessageId"] == ids[2]
        # Over REST no socket asked: every socket of the reader hears it.
        for socket in (alice.socket, alice_tab, bob.socket):
            assert (await socket.next("read"))["lastReadMessageId"] == ids[2]
        assert alice.socket.backlog("read") == 0 and alice_tab.backlog("read") == 0
    finally:
        await alice_tab.close()
    state = (await call(api, "GET", f"/chats/{chat['id']}", carol)).json()
    assert {u["id"]: u["lastReadMessageId"] for u in state["users"]} == {
        alice.id: ids[2], bob.id: None, carol.id: None}
    elsewhere = await bob.socket.call("send_message", {"chatId": other["id"], "message": "x"})
    wrong = await call(api, "POST", f"/chats/{chat['id']}/read", alice,
                       {"messageId": elsewhere["data"]["id"]})
    assert wrong.status_code == 404 and wrong.json()["code"] == 145


async def test_mark_read_refusals(api: httpx.AsyncClient, people: People) -> None:
    alice, bob, stranger = await people(3)
    chat = await make_group(api, alice, bob)
    sent = await bob.socket.call("send_message", {"chatId": chat["id"], "message": "hi"})
    message_id = sent["data"]["id"]
    refused = await stranger.socket.call("mark_read", {"chatId": chat["id"],
                                                       "messageId": message_id})
    assert refused["code"] == 101
    missing = await alice.socket.call("mark_read", {"chatId": 99999, "messageId": message_id})
    assert missing["code"] == 100
    for payload in ({"chatId": chat["id"]}, {"chatId": chat["id"], "messageId": "1"},
                    {"chatId": chat["id"], "messageId": 0},
                    {"chatId": chat["id"], "messageId": message_id, "userId": bob.id}):
        assert (await alice.socket.call("mark_read", payload))["code"] == 103
    await alice.socket.emit("mark_read", {"chatId": chat["id"], "messageId": 999999})
    assert (await alice.socket.next("exception"))["code"] == 145
    for body in ({}, {"messageId": -1}, {"messageId": message_id, "chatId": chat["id"]}):
        bad = await call(api, "POST", f"/chats/{chat['id']}/read", alice, body)
        assert bad.status_code == 400 and bad.json()["code"] == 103
    for who in (alice, bob, stranger):
        assert who.socket.backlog("read") == 0


async def test_a_read_on_another_device_is_in_the_readers_next_sync(
        api: httpx.AsyncClient, people: People) -> None:
    alice, bob = await people(2)
    chat = await make_group(api, alice, bob)
    sent = await bob.socket.call("send_message", {"chatId": chat["id"], "message": "hi"})
    token = (await call(api, "GET", "/sync", alice)).json()["since"]
    await call(api, "POST", f"/chats/{chat['id']}/read", alice,
               {"messageId": sent["data"]["id"]})
    page = (await call(api, "GET", f"/sync?since={token}", alice)).json()
    assert [c["chatId"] for c in page["data"]] == [chat["id"]]
    reported = page["data"][0]
    assert reported["changes"] == []  # not a change to the chat, but my marker moved
    mine = {u["id"]: u["lastReadMessageId"] for u in reported["chat"]["users"]}[alice.id]
    assert mine == sent["data"]["id"]
    assert (await call(api, "GET", f"/sync?since={token}", bob)).json()["data"] == []


async def test_concurrent_marks_each_get_their_answer(api: httpx.AsyncClient, people: People,
                                                      server: LiveServer) -> None:
    alice, bob, carol = await people(3)
    chat = await make_group(api, alice, bob, carol)
    sent = [await bob.socket.call("send_message", {"chatId": chat["id"], "message": f"m{i}"})
            for i in range(3)]
    ids = [ack["data"]["id"] for ack in sent]
    alice_tab = await Peer().connect(server.url, alice.account.access_token)
    try:
        # Sent together: they share write batches; one caller's error is theirs alone.
        acks = await asyncio.gather(
            alice.socket.call("mark_read", {"chatId": chat["id"], "messageId": ids[0]}),
            alice_tab.call("mark_read", {"chatId": chat["id"], "messageId": ids[2]}),
            bob.socket.call("mark_read", {"chatId": chat["id"], "messageId": 999999}),
            carol.socket.call("mark_read", {"chatId": chat["id"], "messageId": ids[1]}),
            call(api, "POST", f"/chats/{chat['id']}/read", bob, {"messageId": ids[2]}))
        assert acks[2]["code"] == 145
        assert acks[4].status_code == 200 and acks[4].json()["lastReadMessageId"] == ids[2]
        assert acks[3]["data"]["lastReadMessageId"] == ids[1]
        # Alice's lower mark is answered with the marker as it is (never behind her own).
        assert acks[1]["data"]["lastReadMessageId"] == ids[2]
        assert acks[0]["data"]["lastReadMessageId"] in (ids[0], ids[2])
    finally:
        await alice_tab.close()
    state = (await call(api, "GET", f"/chats/{chat['id']}", carol)).json()
    assert {u["id"]: u["lastReadMessageId"] for u in state["users"]} == {
        alice.id: ids[2], bob.id: ids[2], carol.id: ids[1]}
    # Carol hears each moved marker; the last she hears of alice is the highest.
    heard: dict[int, int] = {}
    for _ in range(3):
        if heard == {alice.id: ids[2], bob.id: ids[2]}:
            break
        event = await carol.socket.next("read")
        assert event["lastReadMessageId"] > heard.get(event["userId"], 0)
        heard[event["userId"]] = event["lastReadMessageId"]
    assert heard == {alice.id: ids[2], bob.id: ids[2]}
    assert carol.socket.backlog("read") == 0
