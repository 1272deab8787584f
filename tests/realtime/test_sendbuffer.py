"""A client that does not read is disconnected once its outgoing buffer passes the cap."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from engineio import packet as eio_packet

from pipechat.realtime.sendbuffer import SendBuffer, packet_bytes
from realtime.peers import NAMESPACE, WAIT, Peer, make_chat
from realtime.raw import RawPolling, RawSocket, connect_frame, packets_of
from support import live_server, make_settings, register

CAP = 64 * 1024


def test_packet_bytes_counts_utf8_bytes() -> None:
    assert packet_bytes(eio_packet.Packet(eio_packet.MESSAGE, "2abc")) == 5
    assert packet_bytes(eio_packet.Packet(eio_packet.MESSAGE, "é")) == 3
    assert packet_bytes(eio_packet.Packet(eio_packet.MESSAGE, b"\x00" * 10)) == 10


def test_send_buffer_counts_what_it_holds_and_refuses_past_its_cap() -> None:
    overflows: list[tuple[str, int]] = []
    buffer: SendBuffer[eio_packet.Packet | None] = SendBuffer()
    buffer.watch(100, lambda owner: overflows.append((owner, buffer.qsize())), "sid1")
    small = eio_packet.Packet(eio_packet.MESSAGE, "x" * 39)  # 40 bytes encoded
    buffer.put_nowait(small)
    buffer.put_nowait(small)
    assert buffer.queued_bytes == 80 and buffer.get_nowait() is small
    assert buffer.queued_bytes == 40 and overflows == []
    buffer.put_nowait(small)
    buffer.put_nowait(small)  # 120 > 100
    assert overflows == [("sid1", 0)] and buffer.empty() and buffer.queued_bytes == 0
    buffer.put_nowait(small)  # refused from now on: the socket is being closed
    assert buffer.empty()
    buffer.put_nowait(None)  # the writer's wake-up still goes through
    assert buffer.get_nowait() is None


async def test_a_polling_client_that_never_polls_is_disconnected_as_a_slow_consumer(
        database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, socket_send_buffer_bytes=CAP)
    async with live_server(settings) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
        sender_account, reader_account = await register(http), await register(http)
        sender = await Peer().connect(server.url, sender_account.access_token)
        try:
            chat = await make_chat(sender, reader_account.id)
            reader = RawPolling(http)
            await reader.open()
            assert (await reader.post(connect_frame(reader_account.access_token))).text == "OK"
            assert packets_of(await reader.get())[0].startswith(f"40{NAMESPACE},")
            enter = f'42{NAMESPACE},1["enter_chat",{{"chatIds":[{chat}]}}]'
            assert (await reader.post(enter)).text == "OK"
            # From here on the reader never polls. Its room gets more than the cap.
            text = "m" * 2000
            sent = 0
            while reader.sid in server.sio.eio.sockets:
                ack = await sender.call("send_message", {"chatId": chat, "message": text})
                assert ack["status"] == "ok", ack
                sent += 1
                assert sent <= 2 * CAP // len(text), "the reader was never disconnected"
            assert sent * len(text) > CAP // 2
            # The session is gone, and the server still serves everybody else.
            assert (await reader.get()).status_code == 400
            ack = await sender.call("send_message", {"chatId": chat, "message": "still fine"})
            assert ack["status"] == "ok"
            assert (await http.get("/healthz")).status_code == 200
            fresh = await Peer(["polling"]).connect(server.url, reader_account.access_token)
            try:
                assert (await fresh.call("enter_chat", {"chatIds": [chat]}))["status"] == "ok"
            finally:
                await fresh.close()
        finally:
            await sender.close()


async def test_a_websocket_client_that_stops_reading_is_disconnected(
        database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, socket_send_buffer_bytes=CAP)
    async with live_server(settings) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
        sender_account, reader_account = await register(http), await register(http)
        sender = await Peer().connect(server.url, sender_account.access_token)
        # A small receive buffer, and a client that buffers one frame before it stops
        # reading from the socket: the kernel's and uvicorn's buffers fill up soon.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
        reader = await RawSocket.open(server.url, sock=sock, max_queue=1)
        try:
            chat = await make_chat(sender, reader_account.id)
            sid = (await reader.connect_chats(reader_account.access_token))["sid"]
            eio_sid = server.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
            await reader.send(f'42{NAMESPACE},1["enter_chat",{{"chatIds":[{chat}]}}]')
            assert (await reader.recv()).startswith(f"43{NAMESPACE},1")  # type: ignore[union-attr]
            # From here on the reader reads nothing.
            text = "w" * 2000
            for _ in range(200):  # 10 MB at most: far more than any socket buffer holds
                if eio_sid not in server.sio.eio.sockets:
                    break
                acks = await asyncio.gather(*(
                    sender.call("send_message", {"chatId": chat, "message": text})
                    for _ in range(25)))
                assert all(ack["status"] == "ok" for ack in acks), acks
            else:
                pytest.fail("the reader was never disconnected")
            assert sid not in server.sio.manager.rooms[NAMESPACE].get(str(chat), {})
            ack = await sender.call("send_message", {"chatId": chat, "message": "still fine"})
            assert ack["status"] == "ok"
        finally:
            await sender.close()
            reader.ws.transport.abort()


async def test_a_busy_reader_is_not_cut(database_url: str, tmp_path: Path) -> None:
    """Readers that keep up get far more than the cap in total and stay connected."""
    settings = make_settings(database_url, tmp_path, socket_send_buffer_bytes=CAP)
    async with live_server(settings) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
        accounts = [await register(http) for _ in range(2)]
        sender = await Peer().connect(server.url, accounts[0].access_token)
        readers = [await Peer(transports).connect(server.url, accounts[1].access_token)
                   for transports in (["websocket"], ["polling"])]
        try:
            chat = await make_chat(sender, accounts[1].id)
            for reader in readers:
                assert (await reader.call("enter_chat", {"chatIds": [chat]}))["status"] == "ok"
            total = 0
            for n in range(3 * CAP // 2000):
                ack = await sender.call("send_message",
                                        {"chatId": chat, "message": str(n % 10) * 2000})
                assert ack["status"] == "ok", ack
                total += 2000
                for reader in readers:
                    assert (await reader.next("receive_message"))["chatId"] == chat
            assert total > 2 * CAP
            assert all(reader.client.connected for reader in readers)
        finally:
            for peer in (sender, *readers):
                await peer.close()
