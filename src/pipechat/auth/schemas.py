"""Token responses of the `/auth` routes."""

from __future__ import annotations

from pipechat.schemas import CamelModel


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
