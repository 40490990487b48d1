"""Apply the Alembic migrations on an async engine, safely from several processes at once."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.db import locks


def alembic_config() -> Config:
    """Return the Alembic configuration shipped inside the package."""
    ini = files("barberpro.db").joinpath("alembic.ini")
    return Config(str(ini))


def _upgrade(connection: Connection, target: str = "head") -> None:
    if connection.dialect.name == "postgresql":
        # Instances starting together queue here instead of racing to create tables.
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": locks.MIGRATIONS})
        # Then running instances' writers wait (they take this lock first): a migration that
        # locks several tables would otherwise deadlock with a writer holding one of them. A
        # writer's statement of actions takes it inside that statement, after the statement's
        # own table locks (events, sessions, action_hourly, in ROW EXCLUSIVE mode): a migration
        # locking one of those in a stronger mode while such a writer waits here is a cycle,
        # which PostgreSQL breaks after deadlock_timeout by failing the writer that waited
        # first; its events are then written again, each request alone, once this commits.
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": locks.WRITER})
    elif connection.dialect.name == "sqlite":
        # Take the write lock first, so a second process waits (busy_timeout) instead of
        # failing when its read transaction tries to become a write.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, target)


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    """Bring the schema to ``target``, the newest revision by default (a no-op when there)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, target)


def _current(connection: Connection) -> tuple[str | None, str | None]:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return MigrationContext.configure(connection).get_current_revision(), head


async def revision(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Return (the database's revision, the newest revision of the code)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)
