"""Token responses of the `/auth` routes and the socket's `authenticate` event."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from pipechat.schemas import CamelModel, StrictInput


class TokenPair(CamelModel):
    """What register and login return."""

    access_token: str
    refresh_token: str


class AccessToken(CamelModel):
    """What `POST /auth/token/access` returns."""

    access_token: str


class RefreshToken(CamelModel):
    """What `POST /auth/token/refresh` returns."""

    refresh_token: str


class SocketAuthenticate(StrictInput):
    """The payload of the `authenticate` socket event: a fresh access token."""

    token: Annotated[str, Field(min_length=1, max_length=4096)]


class SocketAuthenticated(CamelModel):
    """The `data` of `authenticate`'s ok ack: when the socket's new token expires."""

    expires_at: datetime
