"""Settings read from `PIPECHAT_*` environment variables."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SECRET_FILE_NAME = "jwt_secret"
# The browser bundle of the socket.io-client npm package (its dist/ directory holds it).
SOCKETIO_CLIENT_FILE = "socket.io.min.js"


class ConfigError(RuntimeError):
    """Raised when the settings cannot make a safe server."""


class Settings(BaseSettings):
    """Everything an operator can tune; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="PIPECHAT_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    redis_url: str | None = None
    redis_channel: str = "pipechat"
    # Room channels (realtime/roomcast/): sharded pub/sub (Redis 7+), plain, or whichever works.
    redis_sharded: Literal["auto", "on", "off"] = "auto"
    redis_outbox_max: int = Field(default=10_000, gt=0)
    redis_timeout_seconds: float = Field(default=2.0, gt=0)
    jwt_secret: SecretStr | None = None
    access_token_ttl_seconds: int = Field(default=300, gt=0)
    refresh_token_ttl_seconds: int = Field(default=3600, gt=0)
    session_max_age_seconds: int = Field(default=30 * 24 * 3600, gt=0)
    public_base_url: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = []
    message_max_length: int = Field(default=2000, gt=0)
    rate_limit_per_second: float = Field(default=30.0, gt=0)
    rate_limit_burst: int = Field(default=60, gt=0)
    max_payload_bytes: int = Field(default=64 * 1024, gt=1024)
    connect_timeout_seconds: float = Field(default=45.0, gt=0)
    socket_send_buffer_bytes: int = Field(default=1024 * 1024, ge=64 * 1024)
    max_request_bytes: int = Field(default=64 * 1024, ge=1024)
    allowed_hosts: Annotated[list[str], NoDecode] = []
    # Throttles beyond one socket (limits/): see the README's configuration table for the why.
    login_failures_per_account: int = Field(default=10, gt=0)
    login_failures_per_address: int = Field(default=30, gt=0)
    login_failures_window_seconds: int = Field(default=300, gt=0)
    registrations_per_address: int = Field(default=20, gt=0)
    registrations_window_seconds: int = Field(default=3600, gt=0)
    chats_per_user: int = Field(default=20, gt=0)
    chats_window_seconds: int = Field(default=600, gt=0)
    sockets_per_user: int = Field(default=20, gt=0)
    # Typing and presence (presence/, realtime/typing.py): see the README's "Typing and presence".
    typing_timeout_seconds: float = Field(default=6.0, gt=0)
    typing_throttle_seconds: float = Field(default=2.0, ge=0)
    presence_grace_seconds: float = Field(default=5.0, ge=0)
    presence_host_ttl_seconds: float = Field(default=15.0, ge=1)
    # Open sessions remembered for socket connects (auth/opensessions.py).
    session_cache_seconds: float = Field(default=60.0, ge=0)
    session_cache_size: int = Field(default=100_000, ge=0)
    limits_max_keys: int = Field(default=50_000, ge=100)
    forwarded_allow_ips: str = "127.0.0.1,::1"
    page_size_max: int = Field(default=100, gt=0)
    sync_changes_max: int = Field(default=100, gt=0)
    chat_max_members: int = Field(default=100, ge=2)
    reactions_per_message_max: int = Field(default=20, gt=0)
    blocks_per_user: int = Field(default=1000, gt=0)
    unread_count_max: int = Field(default=1000, gt=0)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # auto: readable lines when stderr is a terminal, JSON lines otherwise.
    log_format: Literal["auto", "text", "json"] = "auto"
    host: str = "127.0.0.1"
    port: int = 8000
    socketio_client_dir: Path | None = None
    metrics_token: SecretStr | None = None
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"

    @field_validator("socketio_client_dir")
    @classmethod
    def _client_bundle_present(cls, value: Path | None) -> Path | None:
        # Fail at start, not with a broken page: the directory must hold the browser bundle.
        if value is not None and not (value / SOCKETIO_CLIENT_FILE).is_file():
            raise ValueError(f"{value} does not contain {SOCKETIO_CLIENT_FILE}")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # A comma-separated env var is friendlier than JSON for a list of URLs.
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        # Comma-separated like PIPECHAT_CORS_ORIGINS; host names compare in lower case.
        if isinstance(value, str):
            return [host.strip().lower() for host in value.split(",") if host.strip()]
        return value

    @cached_property
    def async_database_url(self) -> str:
        """The database URL with the async driver SQLAlchemy needs."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'pipechat.db').resolve()}"
        for prefix, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(prefix):
                return driver + url[len(prefix) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        """True when the embedded SQLite database is in use."""
        return self.async_database_url.startswith("sqlite")

    def resolve_jwt_secret(self) -> str:
        """The signing secret: explicit, or generated once and kept in the data directory.

        Only the embedded SQLite default may generate one; a shared database means several
        processes, which must all be given the same secret on purpose.
        """
        if self.jwt_secret is not None:
            value = self.jwt_secret.get_secret_value()
            if len(value) < 32:
                raise ConfigError("PIPECHAT_JWT_SECRET must be at least 32 characters")
            return value
        if not self.is_sqlite:
            raise ConfigError(
                "PIPECHAT_JWT_SECRET is required when the database is not the embedded SQLite"
            )
        path = self.data_dir / SECRET_FILE_NAME
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two processes starting together must not write different secrets.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as secret_file:
            secret_file.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
