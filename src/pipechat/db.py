"""Database engines, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from pipechat.batch_runners import BatchRunner, EngineBatchRunner, ThreadBatchRunner
from pipechat.config import Settings

# Named constraints make Alembic revisions identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

P = ParamSpec("P")
T = TypeVar("T")

# SQLite only gives INTEGER PRIMARY KEY columns a rowid alias (and so autoincrement).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base for all tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    """`createdAt` / `updatedAt` columns, as the seed's BaseModel has."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utc_now, onupdate=utc_now, nullable=False
    )


def _configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    """WAL for concurrent readers; NORMAL sync survives a process crash; IMMEDIATE for writers."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that later writes can fail with SQLITE_BUSY without waiting;
        # writers take the write lock up front so the busy timeout applies.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_data_error(exc: BaseException) -> bool:
    """True when `exc` is about the values written (a row's data), not the database's health.

    SQLSTATE class 22 is "data exception" (e.g. NUL in text on PostgreSQL; asyncpg also files
    a value it cannot encode there), 23 "integrity constraint violation"; pysqlite raises a
    plain `UnicodeEncodeError` for a lone surrogate. Anything else (connection lost, timeout,
    disk full) may be an outage.
    """
    if isinstance(exc, DataError | IntegrityError | UnicodeError):
        return True
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in {"22", "23"}


class Database:
    """The engines and session factories of one process.

    Every engine hides SQL parameters from its exceptions: they carry message texts and
    password hashes, and exceptions end up in logs.

    SQLite allows one writer at a time, so on SQLite writes go through a one-connection engine
    that takes the write lock at BEGIN; reads use a pool. PostgreSQL uses one pool for both.
    """

    def __init__(self, settings: Settings) -> None:
        url = settings.async_database_url
        self.is_sqlite = settings.is_sqlite
        if self.is_sqlite:
            self.read_engine = create_async_engine(url, pool_size=4, max_overflow=4,
                                                   hide_parameters=True)
            self.write_engine = create_async_engine(url, pool_size=1, max_overflow=0,
                                                    pool_timeout=60, hide_parameters=True)
            _configure_sqlite(self.read_engine.sync_engine, immediate=False)
            _configure_sqlite(self.write_engine.sync_engine, immediate=True)
            batch_engine = create_engine(
                make_url(url).set(drivername="sqlite+pysqlite"), pool_size=1, max_overflow=0,
                connect_args={"check_same_thread": False}, hide_parameters=True)
            _configure_sqlite(batch_engine, immediate=True)
            self._batches: BatchRunner = ThreadBatchRunner(batch_engine, "pipechat-batches")
        else:
            self.read_engine = create_async_engine(
                url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True
            )
            self.write_engine = self.read_engine
            # Its own one-connection pool without a ping per checkout: the writer runs one
            # batch at a time, and the ping was one of seven round trips per batch.
            self._batches = EngineBatchRunner(
                create_async_engine(url, pool_size=1, max_overflow=0, hide_parameters=True))
        self.reader = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self.writer = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries only."""
        async with self.reader() as session:
            yield session

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A session for queries only, all of which see one snapshot of the database.

        PostgreSQL: a REPEATABLE READ transaction. SQLite in WAL mode: any read transaction
        (its snapshot is taken at its first read).
        """
        async with self.read_engine.connect() as connection:
            if not self.is_sqlite:
                await connection.execution_options(isolation_level="REPEATABLE READ")
            async with AsyncSession(bind=connection, expire_on_commit=False) as session:
                yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on any error."""
        async with self.writer() as session, session.begin():
            yield session

    async def run_write(self, work: Callable[Concatenate[Connection, P], T],
                        *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `work(connection, ...)` in one write transaction: commit on return, else roll back.

        `work` is synchronous Core code: on SQLite it runs whole in the batch thread, so the
        caller waits once, not once per statement (`pipechat.batch_runners`).
        """
        return await self._batches.run(work, *args, **kwargs)

    async def ping(self) -> None:
        """Raise unless the database answers a trivial query."""
        async with self.read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()
        await self._batches.close()
