"""Managing a group over REST: rename, add, remove, leave, roles; events to every member."""

from __future__ import annotations

import httpx

from pipechat.chats.models import Chat
from support import LiveServer, count_rows

from .conftest import People, call, make_group


async def test_owner_and_admins_rename_and_every_member_is_told(api: httpx.AsyncClient,
                                                                people: People) -> None:
    owner, admin, member = await people(3)
    chat = await make_group(api, owner, admin, member)
    url = f"/chats/{chat['id']}"
    assert (await call(api, "PATCH", f"{url}/members/{admin.id}", owner,
                       {"role": "admin"})).status_code == 200
    for person in (owner, admin, member):
        await person.socket.next("member_updated")
    renamed = await call(api, "PATCH", url, admin, {"name": "  Trip  "})
    assert renamed.status_code == 200
    body = renamed.json()
    assert body["name"] == "Trip" and body["seq"] == 3 and body["updatedAt"] > chat["updatedAt"]
    for person in (owner, admin, member):
        assert await person.socket.next("chat_updated") == {
            "chatId": chat["id"], "chat": body, "by": admin.id, "seq": 3}
    refused = await call(api, "PATCH", url, member, {"name": "Mine"})
    assert refused.status_code == 403 and refused.json()["code"] == 140
    same = await call(api, "PATCH", url, owner, {"name": "Trip"})
    assert same.status_code == 200 and same.json()["seq"] == 3  # nothing changed
    bad = await call(api, "PATCH", url, owner, {"name": "a\u202eb"})
    assert bad.status_code == 400 and bad.json()["code"] == 103
    log = (await call(api, "GET", f"{url}/changes", owner)).json()["data"]
    assert [(c["seq"], c["kind"], c["by"], c["data"]) for c in log[1:]] == [
        (2, "member_updated", owner.id, {"userId": admin.id, "role": "admin"}),
        (3, "chat_updated", admin.id, {"name": "Trip"})]
    assert owner.socket.backlog("chat_updated") == 0


async def test_adding_members(api: httpx.AsyncClient, people: People,
                              server: LiveServer) -> None:
    owner, member, newcomer, other = await people(4)
    chat = await make_group(api, owner, member)
    url = f"/chats/{chat['id']}/members"
    refused = await call(api, "POST", url, member, {"userIds": [newcomer.id]})
    assert refused.status_code == 403 and refused.json()["code"] == 140
    unknown = await call(api, "POST", url, owner, {"userIds": [newcomer.id, 99999]})
    assert unknown.status_code == 400 and unknown.json()["code"] == 102
    assert unknown.json()["details"] == {"userIds": [99999]}
    stranger = await call(api, "POST", url, newcomer, {"userIds": [other.id]})
    assert stranger.status_code == 403 and stranger.json()["code"] == 101
    added = await call(api, "POST", url, owner, {"userIds": [newcomer.id, member.id]})
    assert added.status_code == 200
    body = added.json()
    assert body["seq"] == 2 and [u["id"] for u in body["users"]] == sorted(
        [owner.id, member.id, newcomer.id])
    for person in (owner, member, newcomer):
        event = await person.socket.next("member_added")
        assert event["chatId"] == chat["id"] and event["by"] == owner.id
        assert event["seq"] == 2 and event["chat"] == body
        assert [(u["id"], u["chatRole"]) for u in event["users"]] == [(newcomer.id, "member")]
        assert "email" not in event["users"][0]
    assert other.socket.backlog("member_added") == 0
    again = await call(api, "POST", url, owner, {"userIds": [newcomer.id]})
    assert again.status_code == 200 and again.json()["seq"] == 2
    readable = await call(api, "GET", f"/chats/{chat['id']}/messages", newcomer)
    assert readable.status_code == 200
    assert (await newcomer.socket.call("enter_chat", {"chatIds": [chat["id"]]}))["status"] == "ok"
    for body_ in ({"userIds": []}, {"userIds": [0]}, {"users": [1]}, {"userIds": "1"}):
        bad = await call(api, "POST", url, owner, body_)
        assert bad.status_code == 400 and bad.json()["code"] == 103
    assert await count_rows(server, Chat) == 1


async def test_removal_and_rank(api: httpx.AsyncClient, people: People) -> None:
    owner, admin, member, other = await people(4)
    chat = await make_group(api, owner, admin, member, other)
    members = f"/chats/{chat['id']}/members"
    await call(api, "PATCH", f"{members}/{admin.id}", owner, {"role": "admin"})
    for who, target in ((member, other), (admin, owner), (member, admin)):
        refused = await call(api, "DELETE", f"{members}/{target.id}", who)
        assert refused.status_code == 403 and refused.json()["code"] == 140
    missing = await call(api, "DELETE", f"{members}/99999", owner)
    assert missing.status_code == 404 and missing.json()["code"] == 144
    removed = await call(api, "DELETE", f"{members}/{member.id}", admin)
    assert removed.status_code == 200
    assert removed.json() == {"chatId": chat["id"], "userId": member.id, "by": admin.id,
                              "reason": "removed", "seq": 3}
    for person in (owner, admin, member, other):
        assert await person.socket.next("member_removed") == removed.json()
    gone = await call(api, "DELETE", f"{members}/{admin.id}", owner)
    assert gone.status_code == 200 and gone.json()["reason"] == "removed"
    state = (await call(api, "GET", f"/chats/{chat['id']}", owner)).json()
    assert [u["id"] for u in state["users"]] == sorted([owner.id, other.id])
    for path in (f"/chats/{chat['id']}", f"/chats/{chat['id']}/messages",
                 f"/chats/{chat['id']}/changes"):
        denied = await call(api, "GET", path, member)
        assert denied.status_code == 403 and denied.json()["code"] == 101
    again = await call(api, "DELETE", f"{members}/{member.id}", owner)
    assert again.status_code == 404 and again.json()["code"] == 144


async def test_leaving_hands_ownership_on_and_the_last_one_out_leaves_it_empty(
        api: httpx.AsyncClient, people: People, server: LiveServer) -> None:
    owner, first, second, admin = await people(4)
    chat = await make_group(api, owner, first, second)
    members = f"/chats/{chat['id']}/members"
    await call(api, "POST", members, owner, {"userIds": [admin.id]})
    await call(api, "PATCH", f"{members}/{admin.id}", owner, {"role": "admin"})
    for person in (owner, first, second, admin):
        await person.socket.next("member_added")
        await person.socket.next("member_updated")
    left = await call(api, "DELETE", f"{members}/{owner.id}", owner)
    assert left.status_code == 200 and left.json()["reason"] == "left"
    # The oldest admin takes over, though it joined after the members.
    for person in (first, second, admin):
        assert (await person.socket.next("member_removed"))["userId"] == owner.id
        assert await person.socket.next("member_updated") == {
            "chatId": chat["id"], "userId": admin.id, "role": "owner", "by": owner.id,
            "seq": left.json()["seq"] + 1}
    assert (await owner.socket.next("member_removed"))["userId"] == owner.id
    assert owner.socket.backlog("member_updated") == 0
    await call(api, "DELETE", f"{members}/{admin.id}", admin)
    state = (await call(api, "GET", f"/chats/{chat['id']}", first)).json()
    # No admin left: the oldest member (by joining, then by id) owns it.
    assert [(u["id"], u["chatRole"]) for u in state["users"]] == sorted(
        [(first.id, "owner"), (second.id, "member")])
    for person in (first, second):
        assert (await call(api, "DELETE", f"{members}/{person.id}", person)).status_code == 200
    assert await count_rows(server, Chat) == 1
    emptied = await call(api, "GET", f"/chats/{chat['id']}", first)
    assert emptied.status_code == 403 and emptied.json()["code"] == 101


async def test_roles_are_the_owners_to_give(api: httpx.AsyncClient, people: People) -> None:
    owner, admin, member = await people(3)
    chat = await make_group(api, owner, admin, member)
    members = f"/chats/{chat['id']}/members"
    made = await call(api, "PATCH", f"{members}/{admin.id}", owner, {"role": "admin"})
    assert made.status_code == 200
    assert {u["id"]: u["chatRole"] for u in made.json()["users"]}[admin.id] == "admin"
    for who, target in ((admin, member), (member, member)):
        refused = await call(api, "PATCH", f"{members}/{target.id}", who, {"role": "admin"})
        assert refused.status_code == 403 and refused.json()["code"] == 140
    selfish = await call(api, "PATCH", f"{members}/{owner.id}", owner, {"role": "member"})
    assert selfish.status_code == 403 and selfish.json()["code"] == 140
    missing = await call(api, "PATCH", f"{members}/99999", owner, {"role": "admin"})
    assert missing.status_code == 404 and missing.json()["code"] == 144
    for body in ({"role": "king"}, {"role": None}, {}, {"role": "admin", "x": 1}):
        bad = await call(api, "PATCH", f"{members}/{member.id}", owner, body)
        assert bad.status_code == 400 and bad.json()["code"] == 103
    for person in (owner, admin, member):
        await person.socket.next("member_updated")
    handed = await call(api, "PATCH", f"{members}/{member.id}", owner, {"role": "owner"})
    assert handed.status_code == 200
    roles = {u["id"]: u["chatRole"] for u in handed.json()["users"]}
    assert roles == {owner.id: "admin", admin.id: "admin", member.id: "owner"}
    for person in (owner, admin, member):
        first = await person.socket.next("member_updated")
        second = await person.socket.next("member_updated")
        assert (first["userId"], first["role"], second["userId"], second["role"]) == (
            member.id, "owner", owner.id, "admin")
        assert second["seq"] == first["seq"] + 1
    now = await call(api, "PATCH", f"{members}/{admin.id}", owner, {"role": "member"})
    assert now.status_code == 403 and now.json()["code"] == 140


async def test_direct_chats_have_no_names_roles_or_adds(api: httpx.AsyncClient,
                                                        people: People) -> None:
    alice, bob, carol = await people(3)
    chat = (await call(api, "POST", "/chats", alice,
                       {"kind": "direct", "userIds": [bob.id]})).json()
    assert all(u["chatRole"] is None for u in chat["users"])
    url = f"/chats/{chat['id']}"
    for method, path, body in (("PATCH", url, {"name": "us"}),
                               ("POST", f"{url}/members", {"userIds": [carol.id]}),
                               ("PATCH", f"{url}/members/{bob.id}", {"role": "admin"}),
                               ("DELETE", f"{url}/members/{bob.id}", None)):
        refused = await call(api, method, path, alice, body)
        assert refused.status_code == 400 and refused.json()["code"] == 141, path


async def test_leaving_a_direct_chat_hides_it_until_a_new_message(
        api: httpx.AsyncClient, people: People, server: LiveServer) -> None:
    alice, bob = await people(2)
    chat = (await call(api, "POST", "/chats", alice,
                       {"kind": "direct", "userIds": [bob.id]})).json()
    for person in (alice, bob):
        await person.socket.next("chat_created")

    async def listed(person: object) -> list[int]:
        page = (await call(api, "GET", "/chats", person)).json()  # type: ignore[arg-type]
        return [c["id"] for c in page["data"]]

    hidden = await call(api, "DELETE", f"/chats/{chat['id']}/members/{alice.id}", alice)
    assert hidden.status_code == 200
    assert hidden.json() == {"chatId": chat["id"], "userId": alice.id, "by": alice.id,
                             "reason": "hidden", "seq": 1}
    assert await alice.socket.next("chat_hidden") == {"chatId": chat["id"], "seq": 1}
    assert bob.socket.backlog("chat_hidden") == 0 and bob.socket.backlog("member_removed") == 0
    assert await listed(alice) == [] and await listed(bob) == [chat["id"]]
    one = (await call(api, "GET", f"/chats/{chat['id']}", alice)).json()
    assert one["hidden"] is True
    synced = (await call(api, "GET", "/sync", alice)).json()["data"]
    assert [(c["chatId"], c["chat"]["hidden"]) for c in synced] == [(chat["id"], True)]
    # Still a member: a new message brings it back.
    sent = await bob.socket.call("send_message", {"chatId": chat["id"], "message": "hi?"})
    assert sent["status"] == "ok"
    assert await listed(alice) == [chat["id"]]
    assert (await call(api, "GET", f"/chats/{chat['id']}", alice)).json()["hidden"] is False
    await call(api, "DELETE", f"/chats/{chat['id']}/members/{alice.id}", alice)
    assert await listed(alice) == []
    again = await call(api, "POST", "/chats", alice, {"kind": "direct", "userIds": [bob.id]})
    assert again.status_code == 200 and await listed(alice) == [chat["id"]]
