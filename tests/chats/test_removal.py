"""Removal is immediate: the removed user's sockets leave the room and every door closes."""

from __future__ import annotations

import httpx

from pipechat.errors import ChatError, ErrorCode
from support import LiveServer

from .conftest import People, call, make_group


async def test_a_removed_member_stops_receiving_and_is_refused_everywhere(
        api: httpx.AsyncClient, people: People) -> None:
    owner, bob = await people(2)
    chat = await make_group(api, owner, bob)
    elsewhere = await make_group(api, owner, bob, name="Elsewhere")
    both = {"chatIds": [chat["id"], elsewhere["id"]]}
    for person in (owner, bob):
        assert (await person.socket.call("enter_chat", both))["status"] == "ok"
    first = await bob.socket.call("send_message", {"chatId": chat["id"], "message": "hi"})
    assert first["status"] == "ok"
    await owner.socket.next("receive_message")

    removed = await call(api, "DELETE", f"/chats/{chat['id']}/members/{bob.id}", owner)
    assert removed.status_code == 200
    assert await bob.socket.next("member_removed") == removed.json()
    after = await owner.socket.call("send_message", {"chatId": chat["id"], "message": "bye"})
    marker = await owner.socket.call("send_message",
                                     {"chatId": elsewhere["id"], "message": "marker"})
    assert after["status"] == "ok" and marker["status"] == "ok"
    # The room was left at once: bob's next message is the marker, not "bye".
    assert await bob.socket.next("receive_message") == marker["data"]
    sent = await bob.socket.call("send_message", {"chatId": chat["id"], "message": "still?"})
    assert sent["code"] == 101
    entered = await bob.socket.call("enter_chat", {"chatIds": [chat["id"]]})
    assert entered["code"] == 101
    ok = await bob.socket.call("send_message", {"chatId": elsewhere["id"], "message": "ok"})
    assert ok["status"] == "ok"


async def test_the_writer_refuses_a_message_of_someone_removed_since_it_was_accepted(
        api: httpx.AsyncClient, people: People, server: LiveServer) -> None:
    owner, bob = await people(2)
    chat = await make_group(api, owner, bob)
    writer = server.context.message_writer
    assert writer is not None
    # Accepted while bob was a member (the gateway's check passed), committed after removal.
    assert (await call(api, "DELETE", f"/chats/{chat['id']}/members/{bob.id}",
                       owner)).status_code == 200
    late = writer.submit(chat["id"], bob.id, "bob", "too late", None)
    fine = writer.submit(chat["id"], owner.id, "owner", "fine", None)
    try:
        await late
    except ChatError as error:
        assert error.code == ErrorCode.NOT_CHAT_MEMBER
    else:
        raise AssertionError("a removed member's message was saved")
    assert (await fine).created
    history = (await call(api, "GET", f"/chats/{chat['id']}/messages", owner)).json()
    assert [m["message"] for m in history["data"]] == ["fine"]


async def test_sync_tells_the_removed_member_up_to_their_removal(api: httpx.AsyncClient,
                                                                 people: People) -> None:
    owner, bob, carol = await people(3)
    chat = await make_group(api, owner, bob, carol)
    token = (await call(api, "GET", "/sync", bob)).json()["since"]
    await call(api, "PATCH", f"/chats/{chat['id']}", owner, {"name": "Before"})
    removed = (await call(api, "DELETE", f"/chats/{chat['id']}/members/{bob.id}",
                          owner)).json()
    await call(api, "PATCH", f"/chats/{chat['id']}", owner, {"name": "After"})
    page = (await call(api, "GET", f"/sync?since={token}", bob)).json()
    assert [c["chatId"] for c in page["data"]] == [chat["id"]]
    reported = page["data"][0]
    assert reported["chat"] is None and reported["seq"] == removed["seq"]
    assert [(c["kind"], c["data"]) for c in reported["changes"]] == [
        ("chat_updated", {"name": "Before"}),
        ("member_removed", {"userId": bob.id, "reason": "removed"})]
    assert (await call(api, "GET", f"/sync?since={page['since']}", bob)).json()["data"] == []
    # Added again: the chat is theirs to sync once more.
    await call(api, "POST", f"/chats/{chat['id']}/members", owner, {"userIds": [bob.id]})
    back = (await call(api, "GET", f"/sync?since={page['since']}", bob)).json()["data"]
    # The state is current; the rename made while they were out was before their token, so
    # their seqs show a gap they may fill from GET /chats/{cid}/changes, now readable again.
    assert back[0]["chat"]["name"] == "After"
    assert [c["kind"] for c in back[0]["changes"]] == ["member_added"]
    log = (await call(api, "GET", f"/chats/{chat['id']}/changes?after={removed['seq']}",
                      bob)).json()["data"]
    assert [c["kind"] for c in log] == ["chat_updated", "member_added"]
    carol_view = (await call(api, "GET", f"/sync?since={token}", carol)).json()["data"]
    assert [c["kind"] for c in carol_view[0]["changes"]] == [
        "chat_updated", "member_removed", "chat_updated", "member_added"]
