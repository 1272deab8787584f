"""The sessions table: one row per login, the family of refresh tokens it hands out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pipechat.db import Base, UTCDateTime, utc_now


class LoginSession(Base):
    """A login or registration and the refresh tokens rotated from it.

    Only the newest refresh token (`refresh_jti`) is accepted; presenting an older one means
    it leaked, and revokes the whole session. Nothing issued for a session outlives
    `expires_at`, however often it is refreshed.
    """

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    refresh_jti: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
