"""The benchmark's workloads (a)-(d) of issue 5 and (e) of issue 12, as specs for the Node
load generator."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

# (e)'s wait for late deliveries, in milliseconds.
SCALE_OUT_DRAIN_MS = 60_000


@dataclass(frozen=True)
class Workload:
    """What to create (users) and what the load generator runs (spec without url/users)."""

    name: str
    title: str
    users: int
    spec: dict[str, Any]


def _rooms(count: int, size: int, senders: int) -> list[dict[str, list[int]]]:
    """`count` rooms of `size` distinct users; the first `senders` members of each send."""
    rooms = []
    for r in range(count):
        members = list(range(r * size, (r + 1) * size))
        rooms.append({"members": members, "senders": members[:senders]})
    return rooms


def build(name: str, scale: float, connections: int, hold: float, rate: float,
          seconds: float, rooms: int = 20, members: int = 10, typing: float = 0,
          idle_users: int = 500, typists: str = "senders", mark_every: float = 0) -> Workload:
    """Workload `name` with message counts multiplied by `scale`.

    `rooms` x `members` shape (b) and (d); the issue's figures are for 20 x 10. `typing` > 0
    makes each sender (`typists="all"`: each member) of (a), (b), (d) also renew
    `typing: true` that many times a second while the messages go (issue 14). (c)'s
    connections belong to `idle_users` users in turn (10,000 measures presence for as many
    online users). With `mark_every` > 0, each of (d)'s members marks its newest received
    message read at most once every `mark_every` seconds (issue 13).
    """
    workload = _build(name, scale, connections, hold, rate, seconds, rooms, members, idle_users,
                      mark_every)
    if typing <= 0 or workload.spec["kind"] != "fanout":
        return workload
    return replace(workload, title=f"{workload.title}, {typists} typing {typing:g}/s",
                   spec=workload.spec | {"typingRate": typing, "typists": typists})


def _build(name: str, scale: float, connections: int, hold: float, rate: float,
           seconds: float, rooms: int, members: int, idle_users: int,
           mark_every: float) -> Workload:
    def scaled(n: int) -> int:
        return max(1, round(n * scale))

    if name == "a":
        return Workload("a", f"1 room x 50 members, 1 sender, {scaled(2000)} msgs, 20 in flight",
                        50,
                        {"kind": "fanout", "rooms": _rooms(1, 50, 1),
                         "messagesPerSender": scaled(2000), "inFlight": 20})
    if name == "b":
        return Workload("b", f"{rooms} rooms x {members} members, 2 senders/room, "
                        f"{scaled(500)} msgs each, 10 in flight",
                        rooms * members,
                        {"kind": "fanout", "rooms": _rooms(rooms, members, 2),
                         "messagesPerSender": scaled(500), "inFlight": 10})
    if name == "c":
        return Workload("c", f"{connections:,} idle authenticated connections, held {hold:g} s",
                        min(idle_users, connections),
                        {"kind": "idle", "connections": connections, "holdSeconds": hold})
    if name == "d":
        marks = f", marks every {mark_every:g} s" if mark_every > 0 else ""
        return Workload("d", f"{rooms} rooms x {members} members, {rate:g} msg/s open loop "
                        f"for {seconds * scale:g} s{marks}",
                        rooms * members,
                        {"kind": "fanout", "rooms": _rooms(rooms, members, 2), "rate": rate,
                         "seconds": seconds * scale, "markEverySeconds": mark_every})
    raise ValueError(f"unknown workload {name!r}")


def scale_out(scale: float, rate: float, seconds: float, rooms: int = 20,
              members: int = 10) -> list[Workload]:
    """(e): (a), (b) and (d) as they are, named e.a, e.b, e.d, for one and two processes.

    Deliveries through Redis can trail the sends by many seconds, so the load generator waits
    up to `SCALE_OUT_DRAIN_MS` after the last ack (15 s in (a)-(d)) before counting one lost.
    """
    return [replace(workload, name=f"e.{workload.name}",
                    spec=workload.spec | {"drainTimeoutMs": SCALE_OUT_DRAIN_MS})
            for workload in (build(name, scale, 0, 0, rate, seconds, rooms, members)
                             for name in "abd")]
