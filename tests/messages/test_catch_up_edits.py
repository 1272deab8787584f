"""Offline catch-up of edits, deletions and reactions: a client ends with the server's state.

One member disconnects while the others send, reply, edit, delete and react. Another member
stays online and follows the live events. Both rebuild the chat from what they got (the
offline one from `GET /sync`, and once more from `GET /chats/{cid}/changes`) with the same
small reducer a client would have, and each must equal `GET` history exactly.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx

from changes.conftest import sync
from chats.conftest import People, Person, call, make_group
from realtime.peers import Peer
from support import LiveServer

from .test_actions import history, send

State = dict[int, dict[str, Any]]
SHOWN = ("id", "chatId", "message", "author", "createdAt", "seq", "editedAt", "deletedAt",
         "replyTo", "clientMessageId")


def apply(state: State, kind: str, data: dict[str, Any], me: int) -> None:
    """What a client does with one change or event (the README's recipe)."""
    if kind in ("message", "receive_message"):
        state[data["id"]] = copy.deepcopy(data)
        state[data["id"]].setdefault("reactions", [])
    elif kind == "message_updated":
        state[data["message"]["id"]].update(copy.deepcopy(data["message"]))
    elif kind == "message_deleted":
        gone = state[data["messageId"]]
        gone.update(message=None, deletedAt=data["deletedAt"], reactions=[])
        for other in state.values():
            quote = other.get("replyTo")
            if quote and quote["id"] == data["messageId"]:
                quote.update(message=None, deletedAt=data["deletedAt"])
    elif kind in ("reaction_added", "reaction_removed"):
        reactions = state[data["messageId"]]["reactions"]
        entry = next((r for r in reactions if r["emoji"] == data["emoji"]), None)
        if entry is None:
            entry = {"emoji": data["emoji"], "count": 0, "me": False}
            reactions.append(entry)
        entry["count"] = data["count"]
        if data["userId"] == me:
            entry["me"] = kind == "reaction_added"
        if entry["count"] == 0:
            reactions.remove(entry)


def comparable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**{key: m[key] for key in SHOWN},
             "reactions": sorted(m["reactions"], key=lambda r: str(r["emoji"]))}
            for m in sorted(messages, key=lambda m: int(m["id"]))]


async def act_while_offline(api: httpx.AsyncClient, owner: Person, member: Person,
                            watcher: Person, chat_id: int, before: list[dict[str, Any]]) -> None:
    """Others edit, delete, react and reply; every kind of change, several times."""
    first, second, third = before
    new = await send(member, chat_id, "while you were away")
    reply = await send(owner, chat_id, "re: first", replyToId=first["id"])
    await send(member, chat_id, "re: reply", replyToId=reply["id"])
    for person, payload in ((owner, {"messageId": first["id"], "message": "first, edited"}),
                            (member, {"messageId": new["id"], "message": "edited twice 1"}),
                            (member, {"messageId": new["id"], "message": "edited twice 2"})):
        assert (await person.socket.call("edit_message", payload))["status"] == "ok"
    for person, event, mid, emoji in (
            (owner, "add_reaction", second["id"], "👍"),
            (member, "add_reaction", second["id"], "👍"),
            (watcher, "add_reaction", second["id"], "🎉"),
            (owner, "add_reaction", third["id"], "❤️"),
            (owner, "remove_reaction", second["id"], "👍"),
            (member, "add_reaction", new["id"], "🇫🇷"),
            (member, "add_reaction", first["id"], "👀")):
        ack = await person.socket.call(event, {"messageId": mid, "emoji": emoji})
        assert ack["status"] == "ok", ack
    url = f"/chats/{chat_id}/messages"
    assert (await call(api, "DELETE", f"{url}/{first['id']}", owner)).status_code == 200
    assert (await call(api, "PUT", f"{url}/{third['id']}/reactions/%F0%9F%91%8D",
                       member)).status_code == 200
    assert (await member.socket.call("delete_message", {"messageId": third["id"]}))[
        "code"] == 161  # the owner's message: a member may not
    await send(owner, chat_id, "last words")


async def test_offline_client_catches_up_to_the_servers_state(
        api: httpx.AsyncClient, people: People, server: LiveServer) -> None:
    owner, member, watcher, offline = await people(4)
    chat = await make_group(api, owner, member, watcher, offline)
    chat_id = chat["id"]
    await watcher.socket.call("enter_chat", {"chatIds": [chat_id]})
    before = [await send(owner, chat_id, f"m{i}") for i in range(3)]
    for _ in before:
        await watcher.socket.next("receive_message")
    # The offline client's state: history, and the token of a sync, then it disconnects.
    offline_state: State = {m["id"]: m for m in await history(api, offline, chat_id)}
    _, token = await sync(api, offline.account)
    held_seq = max(m["seq"] for m in offline_state.values())
    watcher_state: State = {m["id"]: copy.deepcopy(m) for m in offline_state.values()}
    await offline.socket.close()

    await act_while_offline(api, owner, member, watcher, chat_id, before)

    # Back online: one sync brings every change since the token, in order, once.
    reconnected = await Peer().connect(server.url, offline.account.access_token)
    try:
        chats, _ = await sync(api, offline.account, token)
        reported = chats[chat_id]
        assert not reported["limited"]
        seqs = [c["seq"] for c in reported["changes"]]
        assert seqs == list(range(held_seq + 1, reported["seq"] + 1))
        from_sync = copy.deepcopy(offline_state)
        for change in reported["changes"]:
            apply(from_sync, change["kind"], change["data"], offline.id)
        page = (await call(api, "GET", f"/chats/{chat_id}/changes?after={held_seq}&take=100",
                           offline)).json()
        from_log = copy.deepcopy(offline_state)
        for change in page["data"]:
            apply(from_log, change["kind"], change["data"], offline.id)
    finally:
        await reconnected.close()

    # The online watcher followed the live events, in the order they came.
    kinds = ("receive_message", "message_updated", "message_deleted", "reaction_added",
             "reaction_removed")
    events = {kind: [] for kind in kinds}  # type: dict[str, list[dict[str, Any]]]
    for kind in kinds:
        while watcher.socket.backlog(kind):
            events[kind].append(await watcher.socket.next(kind))
    for kind, event in sorted(((k, e) for k, got in events.items() for e in got),
                              key=lambda pair: int(pair[1]["seq"])):
        apply(watcher_state, kind, event, watcher.id)
    seen_seqs = sorted(int(e["seq"]) for got in events.values() for e in got)
    assert seen_seqs == list(range(held_seq + 1, reported["seq"] + 1))  # one each, no gap

    truth = await history(api, offline, chat_id)
    assert comparable(list(from_sync.values())) == comparable(truth)
    assert comparable(list(from_log.values())) == comparable(truth)
    assert comparable(list(watcher_state.values())) == comparable(
        await history(api, watcher, chat_id))
    assert [m["message"] for m in truth][:3] == [None, "m1", "m2"]
