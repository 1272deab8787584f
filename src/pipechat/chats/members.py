"""Managing a group: renaming, adding, removing, leaving and roles, each a change in the log.

Every action locks the chat's row first (the lock that numbers its changes), checks the
caller's role against the members it reads under that lock, records its changes, and only
after commit publishes: sockets of users who left the chat leave its room on every process
first, then every member (and whoever left) is told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pipechat.changes.models import ChatDeparture
from pipechat.changes.service import (
    NewChange,
    Recorded,
    append_changes,
    lock_chat,
    session_position,
)
from pipechat.chats.creation import known_users
from pipechat.chats.models import Chat, chat_members
from pipechat.chats.schemas import ChatPublic, MemberRemoved
from pipechat.chats.views import render_chat
from pipechat.context import AppContext
from pipechat.db import utc_now
from pipechat.errors import ChatError, ErrorCode
from pipechat.users.blocks import check_not_blocked

RANK = {"owner": 3, "admin": 2, "member": 1}
M = chat_members.c


@dataclass(frozen=True, slots=True)
class Member:
    """A membership as read under the chat's lock."""

    user_id: int
    role: str
    joined_seq: int


@dataclass
class Outcome:
    """What a committed action tells whom: `left` leave the room first, then the events."""

    chat_id: int
    events: list[tuple[str, dict[str, Any], list[int]]] = field(default_factory=list)
    left: list[int] = field(default_factory=list)

    def tell(self, event: str, payload: dict[str, Any], user_ids: list[int]) -> None:
        """Queue `event` for these users' sockets."""
        self.events.append((event, {"chatId": self.chat_id, **payload}, sorted(set(user_ids))))


async def publish(context: AppContext, outcome: Outcome) -> None:
    """After commit: rooms first, so nobody who left hears what follows; then the events."""
    if outcome.left:
        await context.leave_chat_rooms(outcome.chat_id, outcome.left)
    for event, payload, user_ids in outcome.events:
        await context.publish_to_users(event, payload, user_ids)


async def open_chat(session: AsyncSession, chat_id: int,
                    actor_id: int) -> tuple[Chat, dict[int, Member]]:
    """The chat, locked, and its members; 100 if it is missing, 101 if the actor is not in it."""
    chat = await lock_chat(session, chat_id)
    if chat is None:
        raise ChatError(ErrorCode.CHAT_NOT_FOUND, f"chat {chat_id} does not exist")
    rows = await session.execute(select(M.user_id, M.role, M.joined_seq).where(
        M.chat_id == chat_id))
    members = {row.user_id: Member(row.user_id, row.role, row.joined_seq) for row in rows}
    if actor_id not in members:
        raise ChatError(ErrorCode.NOT_CHAT_MEMBER, f"you are not a member of chat {chat_id}")
    return chat, members


def require_group(chat: Chat) -> None:
    """Names, roles and added members are for groups only (141)."""
    if chat.kind != "group":
        raise ChatError(ErrorCode.NOT_A_GROUP,
                        "a direct chat has no name, roles or added members")


def require_rank(member: Member, least: str, action: str) -> None:
    """The member's role is at least `least` (140 otherwise)."""
    if RANK[member.role] < RANK[least]:
        who = "the owner" if least == "owner" else "the owner and admins"
        raise ChatError(ErrorCode.ROLE_FORBIDS, f"only {who} may {action}")


def require_member(members: dict[int, Member], user_id: int) -> Member:
    """The target of an action is in the chat (144 otherwise)."""
    if user_id not in members:
        raise ChatError(ErrorCode.NOT_A_MEMBER, f"user {user_id} is not a member of this chat")
    return members[user_id]


def chat_wire(chat: ChatPublic) -> dict[str, Any]:
    """A chat as events carry it."""
    return chat.model_dump(mode="json", by_alias=True)


async def rename_chat(context: AppContext, chat_id: int, actor_id: int, name: str) -> ChatPublic:
    """A group's owner or admin renames it; every member gets `chat_updated`."""
    async with context.db.write() as session:
        chat, members = await open_chat(session, chat_id, actor_id)
        require_group(chat)
        require_rank(members[actor_id], "admin", "rename the chat")
        if chat.name == name:
            return await render_chat(session, chat)
        chat.name = name
        recorded = await append_changes(session, chat, [
            NewChange("chat_updated", actor_id, {"name": name})])
        public = await render_chat(session, chat)
    outcome = Outcome(chat_id)
    outcome.tell("chat_updated", {"chat": chat_wire(public), "by": actor_id,
                                  "seq": recorded.last_seq}, list(members))
    await publish(context, outcome)
    return public


async def add_members(context: AppContext, chat_id: int, actor_id: int,
                      user_ids: list[int]) -> ChatPublic:
    """A group's owner or admin adds users; members old and new get `member_added`."""
    async with context.db.write() as session:
        chat, members = await open_chat(session, chat_id, actor_id)
        require_group(chat)
        require_rank(members[actor_id], "admin", "add members")
        new_ids = sorted(set(user_ids) - set(members))
        if not new_ids:
            return await render_chat(session, chat)
        cap = context.settings.chat_max_members
        if len(members) + len(new_ids) > cap:
            raise ChatError(ErrorCode.TOO_MANY_MEMBERS, f"a group has at most {cap} members",
                            {"max": cap})
        await known_users(session, new_ids)
        await check_not_blocked(session, actor_id, new_ids)
        recorded = await append_changes(session, chat, [
            NewChange("member_added", actor_id, {"userIds": new_ids})])
        await session.execute(chat_members.insert(), [
            {"chat_id": chat_id, "user_id": uid, "role": "member",
             "joined_seq": recorded.last_seq, "member_position": recorded.position}
            for uid in new_ids])
        await session.execute(delete(ChatDeparture).where(
            ChatDeparture.chat_id == chat_id, ChatDeparture.user_id.in_(new_ids)))
        chat.updated_at = utc_now()
        public = await render_chat(session, chat)
    added = [member for member in public.users if member.id in set(new_ids)]
    outcome = Outcome(chat_id)
    outcome.tell("member_added", {
        "users": [member.model_dump(mode="json", by_alias=True) for member in added],
        "by": actor_id, "seq": recorded.last_seq, "chat": chat_wire(public)},
        [*members, *new_ids])
    await publish(context, outcome)
    return public


def successor_of(members: dict[int, Member], leaving: int) -> int | None:
    """Who owns a group its owner leaves: the oldest admin, else the oldest member."""
    rest = [m for m in members.values() if m.user_id != leaving]
    admins = [m for m in rest if m.role == "admin"]
    pool = admins or rest
    return min(pool, key=lambda m: (m.joined_seq, m.user_id)).user_id if pool else None


async def _set_role(session: AsyncSession, chat_id: int, user_id: int, role: str) -> None:
    await session.execute(update(chat_members).where(
        M.chat_id == chat_id, M.user_id == user_id).values(role=role))


async def _depart(session: AsyncSession, chat_id: int, user_id: int,
                  recorded: Recorded) -> None:
    """Take the user out; `GET /sync` tells them about it, up to their removal's seq."""
    await session.execute(delete(chat_members).where(
        M.chat_id == chat_id, M.user_id == user_id))
    await session.execute(delete(ChatDeparture).where(
        ChatDeparture.chat_id == chat_id, ChatDeparture.user_id == user_id))
    session.add(ChatDeparture(user_id=user_id, chat_id=chat_id, seq=recorded.seqs[0],
                              position=recorded.position))


async def remove_member(context: AppContext, chat_id: int, actor_id: int,
                        target_id: int) -> MemberRemoved:
    """Remove a member of lower rank, or leave (`target_id` is the caller)."""
    async with context.db.write() as session:
        chat, members = await open_chat(session, chat_id, actor_id)
        if chat.kind == "direct" and target_id == actor_id:
            removed, outcome = await _hide(session, chat, actor_id)
        else:
            removed, outcome = await _remove(session, chat, members, actor_id, target_id)
    await publish(context, outcome)
    return removed


async def _remove(session: AsyncSession, chat: Chat, members: dict[int, Member], actor_id: int,
                  target_id: int) -> tuple[MemberRemoved, Outcome]:
    require_group(chat)
    target = require_member(members, target_id)
    reason = "left" if target_id == actor_id else "removed"
    if reason == "removed" and RANK[members[actor_id].role] <= RANK[target.role]:
        raise ChatError(ErrorCode.ROLE_FORBIDS,
                        "you may only remove members of a lower role than yours")
    changes = [NewChange("member_removed", actor_id, {"userId": target_id, "reason": reason})]
    heir = successor_of(members, target_id) if target.role == "owner" else None
    if heir is not None:
        changes.append(NewChange("member_updated", actor_id, {"userId": heir, "role": "owner"}))
    recorded = await append_changes(session, chat, changes)
    await _depart(session, chat.id, target_id, recorded)
    if heir is not None:
        await _set_role(session, chat.id, heir, "owner")
    chat.updated_at = utc_now()
    removed = MemberRemoved(chat_id=chat.id, user_id=target_id, by=actor_id, reason=reason,
                            seq=recorded.seqs[0])
    outcome = Outcome(chat.id, left=[target_id])
    outcome.tell("member_removed", removed.model_dump(mode="json", by_alias=True),
                 list(members))
    if heir is not None:
        outcome.tell("member_updated", {"userId": heir, "role": "owner", "by": actor_id,
                                        "seq": recorded.seqs[1]},
                     [uid for uid in members if uid != target_id])
    return removed, outcome


async def _hide(session: AsyncSession, chat: Chat,
                actor_id: int) -> tuple[MemberRemoved, Outcome]:
    """Leaving a direct chat hides it from the leaver's list until a newer message."""
    position = await session_position(session)
    await session.execute(update(chat_members).where(
        M.chat_id == chat.id, M.user_id == actor_id).values(
        hidden_upto=chat.last_message_id or 0, member_position=position))
    hidden = MemberRemoved(chat_id=chat.id, user_id=actor_id, by=actor_id, reason="hidden",
                           seq=chat.last_seq)
    outcome = Outcome(chat.id)
    outcome.tell("chat_hidden", {"seq": chat.last_seq}, [actor_id])
    return hidden, outcome


async def change_role(context: AppContext, chat_id: int, actor_id: int, target_id: int,
                      role: str) -> ChatPublic:
    """The owner changes a member's role; making someone owner hands ownership on."""
    async with context.db.write() as session:
        chat, members = await open_chat(session, chat_id, actor_id)
        require_group(chat)
        require_rank(members[actor_id], "owner", "change roles")
        target = require_member(members, target_id)
        if target_id == actor_id:
            raise ChatError(ErrorCode.ROLE_FORBIDS,
                            "the owner hands ownership on by making another member owner")
        if target.role == role:
            return await render_chat(session, chat)
        updates = [(target_id, role)] + ([(actor_id, "admin")] if role == "owner" else [])
        recorded = await append_changes(session, chat, [
            NewChange("member_updated", actor_id, {"userId": uid, "role": new})
            for uid, new in updates])
        for uid, new in updates:
            await _set_role(session, chat_id, uid, new)
        chat.updated_at = utc_now()
        public = await render_chat(session, chat)
    outcome = Outcome(chat_id)
    for (uid, new), seq in zip(updates, recorded.seqs, strict=True):
        outcome.tell("member_updated", {"userId": uid, "role": new, "by": actor_id,
                                        "seq": seq}, list(members))
    await publish(context, outcome)
    return public

