"""`access_connection`: what a socket keeps of its user for as long as it is connected."""

from __future__ import annotations

import httpx

from pipechat.realtime.connection import SocketUser, access_connection
from support import LiveServer, register


async def test_connection_keeps_id_and_nickname_not_the_row(api: httpx.AsyncClient,
                                                            server: LiveServer) -> None:
    account = await register(api)
    connection = await access_connection(server.context, {}, {"token": account.access_token})
    # Exactly a SocketUser (not an ORM row with its instance state), held per socket.
    assert type(connection.user) is SocketUser
    assert connection.user == SocketUser(account.id, account.nickname)


async def test_bearer_header_in_the_environ_is_read(api: httpx.AsyncClient,
                                                    server: LiveServer) -> None:
    account = await register(api)
    environ = {"HTTP_AUTHORIZATION": f"Bearer {account.access_token}"}
    connection = await access_connection(server.context, environ, None)
    assert connection.user.id == account.id
