"""Frames `/chats` never accepts: other namespaces, binary attachments, malformed packets."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from pipechat.messages.models import Message
from pipechat.realtime import frameguard
from pipechat.realtime.upstream import source_sha256
from realtime.peers import NAMESPACE, Peer, make_chat
from realtime.raw import RawSocket, connect_frame, socketio_event
from support import LiveServer, count_rows, register

BINARY_HEADER = '459999999999-["x",{"_placeholder":true,"num":0}]'
ATTACHMENT = b"\x00" * 32 * 1024


def connect_error(frame: str | bytes, namespace: str) -> dict[str, object]:
    """What a client's `connect_error` gets as `err.data`, from a CONNECT_ERROR packet."""
    prefix = "44" if namespace == "/" else f"44{namespace},"
    assert isinstance(frame, str) and frame.startswith(prefix), frame
    packet = json.loads(frame[len(prefix):])
    data: dict[str, object] = packet["data"]
    assert packet["message"] == data["message"]  # `err.message`
    return data


async def flood(raw: RawSocket, frames: int) -> int:
    """Send up to `frames` binary attachments; how many went out before the server closed."""
    sent = 0
    try:
        for _ in range(frames):
            await raw.send(ATTACHMENT)
            sent += 1
    except ConnectionClosed:
        pass
    return sent


def test_the_frame_guard_is_tied_to_the_known_python_socketio_source() -> None:
    dispatch = frameguard.socketio.AsyncServer._handle_eio_message
    matches = source_sha256(dispatch) == frameguard.KNOWN_DISPATCH_SOURCE
    assert frameguard.DISPATCH_APPLIES is matches


@pytest.mark.parametrize("namespace", ["/", "/admin", "/chats/x"])
async def test_only_chats_can_be_connected(api: httpx.AsyncClient, server: LiveServer,
                                           namespace: str) -> None:
    account = await register(api)
    raw = await RawSocket.open(server.url)
    try:
        await raw.send("40" if namespace == "/" else f"40{namespace},")
        refusal = connect_error(await raw.recv(), namespace)
        assert refusal["code"] == 130 and "/chats" in str(refusal["message"])
        # The refusal is an answer, not a close: the client may still connect to /chats.
        assert "sid" in await raw.connect_chats(account.access_token)
    finally:
        await raw.close()


async def test_a_second_connect_to_chats_gets_a_coded_refusal_and_keeps_the_first(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    account = await register(api)
    raw = await RawSocket.open(server.url)
    try:
        first = await raw.connect_chats(account.access_token)
        await raw.send(connect_frame(account.access_token))
        refusal = connect_error(await raw.recv(), NAMESPACE)
        assert refusal["code"] == 103 and "already connected" in str(refusal["message"])
        # The first connection is untouched: it still answers an event by its ack.
        await raw.send(f'42{NAMESPACE},5["enter_chat",{{"chatIds":[]}}]')
        kind, ack_id, _ = socketio_event(await raw.recv())
        assert (kind, ack_id) == ("ack", 5)
        assert server.sio.manager.sid_from_eio_sid(raw.handshake["sid"], NAMESPACE) == first["sid"]
    finally:
        await raw.close()


async def test_binary_attachments_of_a_stranger_are_refused_before_they_are_buffered(
        server: LiveServer) -> None:
    raw = await RawSocket.open(server.url)
    await raw.send("40")
    assert connect_error(await raw.recv(), "/")["code"] == 130
    await raw.send(BINARY_HEADER)
    # The server closes the connection after the header: no attachment is waited for.
    frames = await raw.until_closed()
    assert frames == ["1"]  # engine.io's CLOSE, nothing else
    assert await flood(raw, 10) == 0
    assert server.sio._binary_packet == {}


@pytest.mark.parametrize("header,ack_id", [
    (f'451-{NAMESPACE},["send_message",{{"_placeholder":true,"num":0}}]', None),
    (f'451-{NAMESPACE},7["send_message",{{"_placeholder":true,"num":0}}]', 7),
    (f'4599-{NAMESPACE},["x",{{"_placeholder":true,"num":0}}]', None),
    # A client's ack answers a server request: never answered with an ack of that id.
    (f"461-{NAMESPACE},3[{{\"_placeholder\":true,\"num\":0}}]", None),
])
async def test_binary_packets_on_chats_get_103_then_the_connection_closes(
        api: httpx.AsyncClient, server: LiveServer, header: str, ack_id: int | None) -> None:
    account = await register(api)
    raw = await RawSocket.open(server.url)
    await raw.connect_chats(account.access_token)
    await raw.send(header)
    frames = await raw.until_closed()
    assert frames[-1] == "1", frames
    kind, got_id, data = socketio_event(frames[0])
    if ack_id is None:
        assert kind == "event" and data[0] == "exception" and data[1]["code"] == 103
        assert "binary" in data[1]["message"]
    else:
        assert (kind, got_id) == ("ack", ack_id) and data[0]["code"] == 103
    assert len(frames) == 2
    assert await flood(raw, 10) == 0
    assert server.sio._binary_packet == {}


async def test_a_bare_attachment_on_chats_gets_103_then_the_connection_closes(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    account = await register(api)
    raw = await RawSocket.open(server.url)
    await raw.connect_chats(account.access_token)
    await raw.send(ATTACHMENT)
    frames = await raw.until_closed()
    kind, _, data = socketio_event(frames[0])
    assert kind == "event" and data[1]["code"] == 103 and frames[1:] == ["1"]


async def test_binary_payload_from_a_client_is_refused_and_its_connection_closed(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    account, other = await register(api), await register(api)
    peer = await Peer().connect(server.url, account.access_token)
    try:
        chat = await make_chat(peer, other.id)
        ack = await peer.call("send_message", {"chatId": chat, "message": b"binary"})
        assert ack["status"] == "error" and ack["code"] == 103 and "binary" in ack["message"]
        await peer.next("disconnect")
        assert await count_rows(server, Message) == 0
    finally:
        await peer.close()


MALFORMED_WITHOUT_ID = [
    f'42{NAMESPACE},{{"not":"a list"}}',
    f"42{NAMESPACE},[]",
    f"42{NAMESPACE},[123]",
    f'42{NAMESPACE},"send_message"',
    f"42{NAMESPACE},null",
    f"42{NAMESPACE},",
    f'42{NAMESPACE},["send_message",',  # unparseable JSON
    f"42{NAMESPACE},[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    f"42{NAMESPACE}," + "[" * 5000 + "]" * 5000,  # deeper than any JSON parser recurses
]
MALFORMED_WITH_ID = [
    (f'42{NAMESPACE},5{{"not":"a list"}}', 5),
    (f"42{NAMESPACE},6[]", 6),
    (f"42{NAMESPACE},8[null]", 8),
    (f"42{NAMESPACE},9[", 9),
]


async def test_malformed_frames_on_chats_get_exactly_one_reply_each(
        api: httpx.AsyncClient, server: LiveServer) -> None:
    account = await register(api)
    raw = await RawSocket.open(server.url)
    try:
        await raw.connect_chats(account.access_token)
        for frame in MALFORMED_WITHOUT_ID:
            await raw.send(frame)
        for frame, _ in MALFORMED_WITH_ID:
            await raw.send(frame)
        # A good event last: every reply before its ack belongs to the malformed frames.
        await raw.send(f'42{NAMESPACE},77["leave_chat",{{"chatIds":[1]}}]')
        replies = []
        while (reply := socketio_event(await raw.recv()))[:2] != ("ack", 77):
            replies.append(reply)
        assert reply[2] == [{"status": "ok", "data": {"chatIds": [1]}}]
        exceptions = [data[1] for kind, _, data in replies if kind == "event"]
        assert [data[0] for kind, _, data in replies if kind == "event"] == (
            ["exception"] * len(MALFORMED_WITHOUT_ID))
        assert [e["code"] for e in exceptions] == [103] * len(MALFORMED_WITHOUT_ID)
        acks = [(ack_id, data[0]["code"]) for kind, ack_id, data in replies if kind == "ack"]
        assert acks == [(ack_id, 103) for _, ack_id in MALFORMED_WITH_ID]
    finally:
        await raw.close()


@pytest.mark.parametrize("frame", [
    f"42{NAMESPACE},[]",
    f'42{NAMESPACE},["send_message",{{"chatId":1,"message":"x"}}]',
    f'42{NAMESPACE},1["create_chat",{{"userIds":[]}}]',
    f"42{NAMESPACE},[",
    "42[]",
    "4x",
    "4",
])
async def test_events_for_a_namespace_not_connected_close_the_connection(
        server: LiveServer, frame: str) -> None:
    raw = await RawSocket.open(server.url)
    await raw.send(frame)
    assert await raw.until_closed() == ["1"]


@pytest.mark.parametrize("frame", ["x", "", "9", "b!!!", "4" + "[" * 5000])
async def test_frames_that_are_not_engineio_packets_close_the_connection(
        server: LiveServer, frame: str) -> None:
    raw = await RawSocket.open(server.url)
    await raw.send(frame)
    assert await raw.until_closed() in ([], ["1"])
    # A closing handshake: the server ended the connection on purpose, not by crashing in
    # engine.io's reader (which drops the TCP connection, 1006, after logging a traceback).
    assert raw.ws.close_code == 1000


async def test_without_the_known_dispatch_binary_is_still_refused(
        api: httpx.AsyncClient, server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # What runs after a python-socketio upgrade changed its dispatch: the stock one, behind
    # the binary check; an exception from it closes the connection instead of a 103 reply.
    monkeypatch.setattr(frameguard, "DISPATCH_APPLIES", False)
    account = await register(api)
    binary = await RawSocket.open(server.url)
    await binary.connect_chats(account.access_token)
    await binary.send(f'451-{NAMESPACE},["send_message",{{"_placeholder":true,"num":0}}]')
    frames = await binary.until_closed()
    assert socketio_event(frames[0])[2][1]["code"] == 103 and frames[1:] == ["1"]
    malformed = await RawSocket.open(server.url)
    await malformed.connect_chats(account.access_token)
    await malformed.send(f'42{NAMESPACE},{{"not":"a list"}}')
    assert await malformed.until_closed() == ["1"]
    assert server.sio._binary_packet == {}
