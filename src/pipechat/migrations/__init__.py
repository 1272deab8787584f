"""Alembic revisions shipped inside the package, applied by `pipechat migrate` and `serve`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

# Any fixed number: serialises concurrent `serve` processes migrating one PostgreSQL.
_MIGRATION_LOCK_KEY = 7_311_905_204


def alembic_config(url: str = "") -> Config:
    """An Alembic config pointing at this package's revisions."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})"))
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _pending(connection: Connection) -> list[str]:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = MigrationContext.configure(connection).get_current_revision()
    return [] if current == head else [str(head)]


async def apply_migrations(url: str) -> None:
    """Bring the database at `url` (an async SQLAlchemy URL) to the newest revision."""
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade)
    finally:
        await engine.dispose()


async def pending_revisions(url: str) -> list[str]:
    """The head revision if the database is not at it yet, else an empty list."""
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_pending)
    finally:
        await engine.dispose()
